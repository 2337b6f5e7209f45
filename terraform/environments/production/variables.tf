variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "eu-west-1"
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "environment" {
  description = "Environment name, the prefix of every resource name."
  type        = string
  default     = "production"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.environment))
    error_message = "environment must be lowercase letters, digits and '-'."
  }
}

variable "azs" {
  description = "The three availability zones of the environment."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
  validation {
    condition     = length(var.azs) == 3
    error_message = "Exactly 3 availability zones."
  }
}

variable "vpc_cidr" {
  description = "VPC CIDR block."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid CIDR block."
  }
}

variable "public_subnets" {
  description = "Public subnets (ALB, NAT gateways), one per AZ."
  type        = list(string)
  default     = ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
  validation {
    condition     = length(var.public_subnets) == 3
    error_message = "One public subnet per AZ (3)."
  }
}

variable "private_subnets" {
  description = "Private subnets (EKS nodes and pods), one per AZ."
  type        = list(string)
  default     = ["10.0.64.0/20", "10.0.80.0/20", "10.0.96.0/20"]
  validation {
    condition     = length(var.private_subnets) == 3
    error_message = "One private subnet per AZ (3)."
  }
}

variable "database_subnets" {
  description = "Database subnets (RDS), one per AZ."
  type        = list(string)
  default     = ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
  validation {
    condition     = length(var.database_subnets) == 3
    error_message = "One database subnet per AZ (3)."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version (the seed's 1.29 left EKS extended support in March 2026; 1.35 is in standard support until March 2027)."
  type        = string
  default     = "1.35"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "eks_addon_versions" {
  description = "Pinned versions of the EKS add-ons vpc-cni, coredns, kube-proxy, metrics-server, aws-ebs-csi-driver for kubernetes_version (see terraform.tfvars.example)."
  type        = map(string)
}

variable "node_instance_type" {
  description = "Instance type of the EKS managed node group."
  type        = string
  default     = "t3.medium"
}

variable "node_capacity_type" {
  description = "ON_DEMAND, or SPOT for cheaper interruptible nodes."
  type        = string
  default     = "ON_DEMAND"
  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum number of EKS nodes in total, split over the per-zone node groups (rounded up per zone)."
  type        = number
  default     = 2
  validation {
    condition     = var.node_min_size >= 2
    error_message = "At least 2 nodes keep the service up through a node loss."
  }
}

variable "node_max_size" {
  description = "Maximum number of EKS nodes."
  type        = number
  default     = 5
  validation {
    condition     = var.node_max_size >= 3 && var.node_max_size <= 20
    error_message = "node_max_size must be between 3 and 20."
  }
}

variable "node_desired_size" {
  description = "Initial number of EKS nodes (one per AZ)."
  type        = number
  default     = 3
}

variable "cluster_endpoint_public_access" {
  description = "Open the Kubernetes API endpoint to cluster_endpoint_public_access_cidrs (for CI runners outside the VPC)."
  type        = bool
  default     = false
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed on the public Kubernetes API endpoint when it is enabled."
  type        = list(string)
  default     = ["192.0.2.0/24"]
}

variable "deployer_role_arns" {
  description = "IAM role of the deploy pipeline (the Jenkins agents) allowed to push the image and deploy into the task-manager namespace."
  type        = list(string)
  default     = []
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t3.micro"
}

variable "db_engine_version" {
  description = "PostgreSQL engine version: the major version alone lets RDS create its current 15.x default minor (the seed's 15.5 is no longer offered); minor upgrades are automatic."
  type        = string
  default     = "15"
  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.db_engine_version))
    error_message = "db_engine_version must be 15 or a 15.x minor (parameter group family postgres15)."
  }
}

variable "db_allocated_storage" {
  description = "Initial RDS storage in GiB (gp3)."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Storage autoscaling limit in GiB."
  type        = number
  default     = 100
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group."
  type        = number
  default     = 365
}

variable "bucket_prefix" {
  description = "Globally unique prefix of the S3 bucket names (e.g. include the account id)."
  type        = string
  default     = "production-task-manager"
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB (app/production-task-manager/<id>), known after the first Helm deploy; enables the SLO alarm and the FIS template."
  type        = string
  default     = ""
}

variable "fis_availability_zone" {
  description = "Zone targeted by the AZ power interruption drill."
  type        = string
  default     = "eu-west-1a"
}

variable "alarm_actions" {
  description = "SNS topics (or other ARNs) notified by the SLO alarm."
  type        = list(string)
  default     = []
}

variable "dns_enabled" {
  description = "Create the ACM certificate and the Route 53 record."
  type        = bool
  default     = false
}

variable "dns_zone_name" {
  description = "Public hosted zone (when dns_enabled)."
  type        = string
  default     = ""
}

variable "dns_domain_name" {
  description = "Public name of the service (when dns_enabled)."
  type        = string
  default     = ""
}

variable "alb_dns_name" {
  description = "DNS name of the ALB for the alias record (after the first deploy)."
  type        = string
  default     = ""
}

variable "alb_zone_id" {
  description = "Canonical hosted zone ID of the ALB."
  type        = string
  default     = ""
}

variable "dr_region" {
  description = "Region that receives the cross-region backup copies and the application secret replica."
  type        = string
  default     = "eu-central-1"
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9]$", var.dr_region)) && var.dr_region != var.region
    error_message = "dr_region must be a region other than region."
  }
}

variable "backup_retention_days" {
  description = "Days the AWS Backup recovery points are kept, in this region and in dr_region."
  type        = number
  default     = 35
  validation {
    condition     = var.backup_retention_days >= 7
    error_message = "Keep backups at least 7 days."
  }
}
