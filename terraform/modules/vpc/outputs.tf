output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Public subnet IDs, in AZ order."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnet IDs, in AZ order."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Database subnet IDs, in AZ order."
  value       = aws_subnet.database[*].id
}

output "nat_public_ips" {
  description = "Egress addresses of the NAT gateways (allow-list them at the SMTP relay if needed)."
  value       = aws_eip.nat[*].public_ip
}
