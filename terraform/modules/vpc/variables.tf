variable "name" {
  description = "Name prefix of every VPC resource, e.g. production-task-manager."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name, used in the kubernetes.io/cluster/<name> subnet tags that the AWS Load Balancer Controller discovers."
  type        = string
}

variable "cidr" {
  description = "VPC CIDR block."
  type        = string
  default     = "10.0.0.0/16"
  validation {
    condition     = can(cidrhost(var.cidr, 0))
    error_message = "cidr must be a valid IPv4 CIDR block."
  }
}

variable "azs" {
  description = "Availability zones, one subnet of each tier per zone."
  type        = list(string)
  validation {
    condition     = length(var.azs) == 3
    error_message = "The architecture spans exactly 3 availability zones."
  }
}

variable "public_subnets" {
  description = "Public subnet CIDRs (ALB, NAT gateways), one per AZ."
  type        = list(string)
  default     = ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"]
  validation {
    condition     = length(var.public_subnets) == 3 && alltrue([for c in var.public_subnets : can(cidrhost(c, 0))])
    error_message = "public_subnets must be 3 valid CIDR blocks."
  }
}

variable "private_subnets" {
  description = "Private subnet CIDRs (EKS nodes and pods), one per AZ."
  type        = list(string)
  default     = ["10.0.64.0/20", "10.0.80.0/20", "10.0.96.0/20"]
  validation {
    condition     = length(var.private_subnets) == 3 && alltrue([for c in var.private_subnets : can(cidrhost(c, 0))])
    error_message = "private_subnets must be 3 valid CIDR blocks."
  }
}

variable "database_subnets" {
  description = "Database subnet CIDRs (RDS), one per AZ, without internet route."
  type        = list(string)
  default     = ["10.0.128.0/20", "10.0.144.0/20", "10.0.160.0/20"]
  validation {
    condition     = length(var.database_subnets) == 3 && alltrue([for c in var.database_subnets : can(cidrhost(c, 0))])
    error_message = "database_subnets must be 3 valid CIDR blocks."
  }
}

variable "flow_log_group_arn" {
  description = "ARN of the CloudWatch log group receiving the VPC flow logs (modules/observability)."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
