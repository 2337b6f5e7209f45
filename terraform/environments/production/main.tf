# Production environment of task-manager: the seed architecture composed from the modules.
#
#   VPC 10.0.0.0/16 over 3 AZs (public / private / database tiers, NAT per AZ)
#   EKS 1.35 (seed: 1.29), one t3.medium node group per zone, IRSA, KMS-encrypted secrets
#   RDS PostgreSQL 15 (current minor; seed: 15.5) Multi-AZ, db.t3.micro, 20 GiB gp3, 7-day
#   backups copied to a second region by AWS Backup
#   ECR (one image: UI + API), S3 assets/backups, CloudWatch log groups, SLO alarm,
#   FIS AZ power interruption drill, optional Route 53 + ACM.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name      = "${var.environment}-task-manager"
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id

  log_groups = {
    eks            = "/aws/eks/${local.name}/cluster"
    rds_postgresql = "/aws/rds/instance/${local.name}/postgresql"
    rds_upgrade    = "/aws/rds/instance/${local.name}/upgrade"
    vpc_flow_logs  = "/aws/vpc/${local.name}/flow-logs"
    application    = "/aws/containers/${local.name}/application"
    fis            = "/aws/fis/${local.name}"
  }
}

# ---------------------------------------------------------------------------- KMS keys

module "kms_logs" {
  source             = "../../modules/kms"
  name               = "${local.name}-logs"
  description        = "CloudWatch Logs of ${local.name}"
  service_principals = ["logs.${var.region}.amazonaws.com"]
}

module "kms_eks" {
  source      = "../../modules/kms"
  name        = "${local.name}-eks-secrets"
  description = "Kubernetes Secrets of ${local.name}"
}

module "kms_ebs" {
  source      = "../../modules/kms"
  name        = "${local.name}-ebs"
  description = "EBS volumes of the ${local.name} EKS nodes"
  # The Auto Scaling service-linked role launches the nodes with encrypted volumes.
  user_arns = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
}

module "kms_rds" {
  source      = "../../modules/kms"
  name        = "${local.name}-rds"
  description = "RDS storage, Performance Insights and master secret of ${local.name}"
}

module "kms_ecr" {
  source      = "../../modules/kms"
  name        = "${local.name}-ecr"
  description = "Container images of ${local.name}"
}

module "kms_s3" {
  source      = "../../modules/kms"
  name        = "${local.name}-s3"
  description = "S3 assets and backups of ${local.name}"
}

# ----------------------------------------------------------------------- observability

module "observability" {
  source                 = "../../modules/observability"
  name                   = local.name
  log_groups             = local.log_groups
  retention_in_days      = var.log_retention_days
  kms_key_arn            = module.kms_logs.key_arn
  access_log_bucket_name = "${var.bucket_prefix}-access-logs"
  alb_arn_suffix         = var.alb_arn_suffix
  alarm_actions          = var.alarm_actions
}

# ------------------------------------------------------------------------------ network

module "vpc" {
  source             = "../../modules/vpc"
  name               = local.name
  cluster_name       = local.name
  cidr               = var.vpc_cidr
  azs                = var.azs
  public_subnets     = var.public_subnets
  private_subnets    = var.private_subnets
  database_subnets   = var.database_subnets
  flow_log_group_arn = module.observability.log_group_arns["vpc_flow_logs"]
}

# -------------------------------------------------------------------------------- EKS

module "eks" {
  source = "../../modules/eks"

  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  addon_versions               = var.eks_addon_versions
  private_subnet_ids           = module.vpc.private_subnet_ids
  availability_zones           = var.azs
  endpoint_public_access       = var.cluster_endpoint_public_access
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  secrets_kms_key_arn          = module.kms_eks.key_arn
  ebs_kms_key_arn              = module.kms_ebs.key_arn

  node_instance_type = var.node_instance_type
  node_capacity_type = var.node_capacity_type
  node_min_size      = var.node_min_size
  node_max_size      = var.node_max_size
  node_desired_size  = var.node_desired_size

  deployer_role_arns = var.deployer_role_arns

  # The application's own role (ServiceAccount task-manager/task-manager): S3 assets and
  # backups, nothing else.
  irsa_roles = {
    task-manager = {
      namespace       = "task-manager"
      service_account = "task-manager"
      policy_json     = data.aws_iam_policy_document.app.json
    }
    # Syncs the application secret from Secrets Manager (backup.tf).
    external-secrets = {
      namespace       = "external-secrets"
      service_account = "external-secrets"
      policy_json     = data.aws_iam_policy_document.external_secrets.json
    }
  }

  # The control-plane log group must exist (with retention and KMS) before the cluster.
  depends_on = [module.observability]
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket"]
    resources = [module.s3_assets.bucket_arn, module.s3_backups.bucket_arn]
  }
  statement {
    sid       = "ReadWriteObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${module.s3_assets.bucket_arn}/*", "${module.s3_backups.bucket_arn}/*"]
  }
  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.kms_s3.key_arn]
  }
}

# -------------------------------------------------------------------------------- RDS

module "rds" {
  source = "../../modules/rds"

  identifier              = local.name
  engine_version          = var.db_engine_version
  instance_class          = var.db_instance_class
  allocated_storage       = var.db_allocated_storage
  max_allocated_storage   = var.db_max_allocated_storage
  backup_retention_period = 7
  backup_window           = "03:00-04:00"
  maintenance_window      = "mon:04:00-mon:05:00"
  monitoring_interval     = 60
  kms_key_arn             = module.kms_rds.key_arn

  vpc_id                    = module.vpc.vpc_id
  database_subnet_ids       = module.vpc.database_subnet_ids
  allowed_security_group_id = module.eks.node_security_group_id

  # The exported-log groups must exist (with retention and KMS) before the instance.
  depends_on = [module.observability]
}

# ------------------------------------------------------------------------ ECR and S3

module "ecr" {
  source = "../../modules/ecr"
  # One image serves the UI and the API.
  repository_names   = ["${local.name}-backend"]
  keep_tagged_images = 10
  kms_key_arn        = module.kms_ecr.key_arn
}

module "s3_assets" {
  source                     = "../../modules/s3"
  name                       = "${var.bucket_prefix}-assets"
  kms_key_arn                = module.kms_s3.key_arn
  access_log_bucket          = module.observability.access_log_bucket
  noncurrent_expiration_days = 90
}

module "s3_backups" {
  source                     = "../../modules/s3"
  name                       = "${var.bucket_prefix}-backups"
  kms_key_arn                = module.kms_s3.key_arn
  access_log_bucket          = module.observability.access_log_bucket
  noncurrent_expiration_days = 30
  transition_ia_days         = 30
  transition_glacier_days    = 90
  expiration_days            = 365
}

# ------------------------------------------------------------------ chaos drill (FIS)

module "fis" {
  source = "../../modules/fis"
  count  = var.alb_arn_suffix == "" ? 0 : 1

  name              = local.name
  cluster_name      = module.eks.cluster_name
  availability_zone = var.fis_availability_zone
  db_instance_arn   = module.rds.instance_arn
  ebs_kms_key_arn   = module.kms_ebs.key_arn
  stop_alarm_arn    = module.observability.slo_alarm_arn
  log_group_arn     = module.observability.log_group_arns["fis"]
}

# ---------------------------------------------------------------- DNS (optional)

module "dns" {
  source       = "../../modules/dns"
  enabled      = var.dns_enabled
  zone_name    = var.dns_zone_name
  domain_name  = var.dns_domain_name
  alb_dns_name = var.alb_dns_name
  alb_zone_id  = var.alb_zone_id
}

# ----------------------------------------------------- names handed to the pipeline

# Every name the Helm chart needs from this environment, in the chart's own value paths.
# The deploy stage reads it from SSM (the deploy role needs no access to the state, which
# holds secrets) and passes it after values-production.yaml, so Terraform's names win.
# tests/deploy/test_names.py checks each path exists in the chart and that
# values-production.yaml agrees with what Terraform creates from terraform.tfvars.example.
locals {
  helm_values = {
    image = {
      repository = module.ecr.repository_urls["${local.name}-backend"]
    }
    serviceAccount = {
      roleArn = module.eks.irsa_role_arns["task-manager"]
    }
    config = {
      TM_ATTACHMENTS_S3_BUCKET = module.s3_assets.bucket_name
      AWS_REGION               = var.region
    }
    ingress = {
      loadBalancerName = local.name
      # Empty without dns_enabled: the ALB then listens on HTTP only.
      certificateArn = var.dns_enabled ? module.dns.certificate_arn : ""
    }
    networkPolicy = {
      ingress = { cidrs = var.public_subnets }
      egress  = { database = { cidrs = var.database_subnets } }
    }
  }

  deploy = {
    cluster_name = module.eks.cluster_name
    region       = var.region
    helm_values  = local.helm_values
  }
}

resource "aws_ssm_parameter" "deploy" {
  #checkov:skip=CKV2_AWS_34:Names and ARNs only, nothing secret; a String parameter is readable without kms:Decrypt
  name        = "/${local.name}/deploy"
  description = "Cluster name and Helm values of ${local.name}, read by the deploy stage"
  type        = "String"
  tier        = "Standard"
  value       = jsonencode(local.deploy)
}

# What the CI deploy role needs in AWS: read the parameter above, push to the one
# repository, and find the cluster. Inside the cluster its rights come from the deployer
# Role (terraform/kubernetes/deployer-rbac.yaml).
data "aws_iam_policy_document" "deployer" {
  statement {
    sid       = "ReadDeployParameter"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.deploy.arn]
  }
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] #checkov:skip=CKV_AWS_356:GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid = "EcrPush"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
    ]
    resources = [module.ecr.repository_arns["${local.name}-backend"]]
  }
  statement {
    sid       = "EcrDecryptLayers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [module.kms_ecr.key_arn]
  }
  statement {
    sid       = "FindCluster"
    actions   = ["eks:DescribeCluster"]
    resources = [module.eks.cluster_arn]
  }
}

resource "aws_iam_policy" "deployer" {
  name   = "${local.name}-deployer"
  policy = data.aws_iam_policy_document.deployer.json
}

resource "aws_iam_role_policy_attachment" "deployer" {
  for_each   = toset(var.deployer_role_arns)
  role       = element(split("/", each.value), length(split("/", each.value)) - 1)
  policy_arn = aws_iam_policy.deployer.arn
}
