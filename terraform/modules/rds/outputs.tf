output "endpoint" {
  description = "host:port of the primary (the DNS name follows a Multi-AZ failover)."
  value       = aws_db_instance.this.endpoint
}

output "address" {
  description = "DNS name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "PostgreSQL port."
  value       = aws_db_instance.this.port
}

output "instance_arn" {
  description = "ARN of the DB instance (FIS reboot-with-failover target)."
  value       = aws_db_instance.this.arn
}

output "identifier" {
  description = "DB instance identifier."
  value       = aws_db_instance.this.identifier
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master credentials."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.this.id
}
