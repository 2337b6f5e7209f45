output "experiment_template_id" {
  description = "ID to pass to `aws fis start-experiment --experiment-template-id`."
  value       = aws_fis_experiment_template.az_power_interruption.id
}

output "role_arn" {
  description = "Role FIS assumes during the experiment."
  value       = aws_iam_role.fis.arn
}
