output "certificate_arn" {
  description = "Validated ACM certificate ARN (ingress.certificateArn in the Helm values), or null."
  value       = try(aws_acm_certificate_validation.this[0].certificate_arn, null)
}

output "fqdn" {
  description = "Public name of the service, or null."
  value       = var.enabled ? var.domain_name : null
}
