output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "vpc_id" {
  description = "VPC ID (aws-load-balancer-controller --set vpcId=...)."
  value       = module.vpc.vpc_id
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role of the cluster autoscaler."
  value       = module.eks.irsa_role_arns["cluster-autoscaler"]
}

output "aws_load_balancer_controller_role_arn" {
  description = "IRSA role of the AWS Load Balancer Controller."
  value       = module.eks.irsa_role_arns["aws-load-balancer-controller"]
}

output "task_manager_role_arn" {
  description = "IRSA role of the application (serviceAccount.roleArn in the Helm values)."
  value       = module.eks.irsa_role_arns["task-manager"]
}

output "ecr_repository_url" {
  description = "Repository the pipelines push to."
  value       = module.ecr.repository_urls["${local.name}-backend"]
}

output "db_endpoint" {
  description = "PostgreSQL endpoint (host:port) for DATABASE_URL."
  value       = module.rds.endpoint
}

output "db_instance_identifier" {
  description = "RDS instance identifier (point-in-time restore, failover)."
  value       = module.rds.identifier
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret with the RDS master credentials."
  value       = module.rds.master_user_secret_arn
}

output "bucket_names" {
  description = "S3 bucket per purpose (assets, backups)."
  value       = { assets = module.s3_assets.bucket_name, backups = module.s3_backups.bucket_name }
}

output "slo_alarm_arn" {
  description = "SLO fast-burn alarm (null until alb_arn_suffix is set)."
  value       = module.observability.slo_alarm_arn
}

output "fis_experiment_template_id" {
  description = "AZ power interruption experiment template (null until alb_arn_suffix is set)."
  value       = try(module.fis[0].experiment_template_id, null)
}

output "acm_certificate_arn" {
  description = "ACM certificate for the ALB (null unless dns_enabled)."
  value       = module.dns.certificate_arn
}

output "helm_values" {
  description = "Names the Helm chart needs, in its value paths (helm -f): image repository, IRSA role, assets bucket, ALB name, subnets, certificate."
  value       = local.helm_values
}

output "deploy_parameter_name" {
  description = "SSM parameter holding cluster_name, region and helm_values for the deploy stage."
  value       = aws_ssm_parameter.deploy.name
}

output "deployer_kubernetes_group" {
  description = "Kubernetes group of the CI deploy role (subject of terraform/kubernetes/deployer-rbac.yaml)."
  value       = module.eks.deployer_kubernetes_group
}

output "app_secret_name" {
  description = "Secrets Manager secret with database-url, smtp-username and smtp-password (replicated to dr_region)."
  value       = aws_secretsmanager_secret.app.name
}

output "external_secrets_role_arn" {
  description = "IRSA role of the External Secrets Operator (reads app_secret_name only)."
  value       = module.eks.irsa_role_arns["external-secrets"]
}

output "backup_vault_names" {
  description = "AWS Backup vaults: primary region and the cross-region copy."
  value       = { primary = aws_backup_vault.primary.name, dr = aws_backup_vault.dr.name }
}

output "db_security_group_id" {
  description = "Security group of the database (restores reuse it)."
  value       = module.rds.security_group_id
}
