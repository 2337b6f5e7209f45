# Backups that survive the loss of the region or of the RDS instance's own automated
# backups: AWS Backup takes a daily snapshot of the database and a backup of the assets
# bucket, and copies each recovery point to a vault in dr_region. The application secret
# (database URL, SMTP credentials) lives in Secrets Manager with a replica in dr_region,
# so the disaster-recovery procedure can rebuild the Kubernetes Secret from either region
# (docs/disaster-recovery.md).

module "kms_backup" {
  source      = "../../modules/kms"
  name        = "${local.name}-backup"
  description = "AWS Backup vault of ${local.name}"
}

module "kms_backup_dr" {
  source      = "../../modules/kms"
  providers   = { aws = aws.dr }
  name        = "${local.name}-backup-dr"
  description = "AWS Backup copies of ${local.name} in ${var.dr_region}"
}

resource "aws_backup_vault" "primary" {
  name        = local.name
  kms_key_arn = module.kms_backup.key_arn
}

resource "aws_backup_vault" "dr" {
  provider    = aws.dr
  name        = "${local.name}-dr"
  kms_key_arn = module.kms_backup_dr.key_arn
}

resource "aws_backup_plan" "this" {
  name = local.name

  rule {
    rule_name         = "daily-with-cross-region-copy"
    target_vault_name = aws_backup_vault.primary.name
    # After the RDS backup window (03:00-04:00 UTC), before the maintenance window.
    schedule          = "cron(15 4 ? * * *)"
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.backup_retention_days
    }

    copy_action {
      destination_vault_arn = aws_backup_vault.dr.arn
      lifecycle {
        delete_after = var.backup_retention_days
      }
    }
  }
}

data "aws_iam_policy_document" "backup_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["backup.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "backup" {
  name               = "${local.name}-backup"
  assume_role_policy = data.aws_iam_policy_document.backup_assume.json
}

resource "aws_iam_role_policy_attachment" "backup" {
  for_each = toset([
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
    "AWSBackupServiceRolePolicyForS3Backup",
    "AWSBackupServiceRolePolicyForS3Restore",
  ])
  role       = aws_iam_role.backup.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_backup_selection" "this" {
  name         = local.name
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = [module.rds.instance_arn, module.s3_assets.bucket_arn]
}

# ------------------------------------------------------------------ application secret

# Keys database-url, smtp-username, smtp-password; the value is written by the operator
# (docs/deployment.md, first deployment, step 6), never by Terraform (it would land in
# the state). The External Secrets Operator syncs it into the Kubernetes Secret the
# chart mounts (terraform/kubernetes/app-external-secret.yaml).
resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:The application role's password is rotated by the documented procedure (docs/deployment.md), not by a rotation Lambda
  name                    = "${local.name}/app"
  description             = "Database URL and SMTP credentials of ${local.name}"
  kms_key_id              = module.kms_rds.key_arn
  recovery_window_in_days = 30

  replica {
    region = var.dr_region
  }
}

# The External Secrets Operator's role (ServiceAccount external-secrets/external-secrets):
# read this one secret.
data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid       = "ReadAppSecret"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.app.arn]
  }
  statement {
    sid       = "DecryptAppSecret"
    actions   = ["kms:Decrypt"]
    resources = [module.kms_rds.key_arn]
  }
}
