output "log_group_arns" {
  description = "Log group ARN per purpose."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.arn }
}

output "log_group_names" {
  description = "Log group name per purpose."
  value       = { for k, g in aws_cloudwatch_log_group.this : k => g.name }
}

output "access_log_bucket" {
  description = "Bucket receiving S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "slo_alarm_arn" {
  description = "ARN of the SLO fast-burn alarm (null until alb_arn_suffix is set)."
  value       = try(aws_cloudwatch_metric_alarm.slo_fast_burn[0].arn, null)
}
