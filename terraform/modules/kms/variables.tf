variable "name" {
  description = "Key alias (without the alias/ prefix), e.g. production-task-manager-rds."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9/_-]{1,250}$", var.name))
    error_message = "name may contain letters, digits, '/', '_' and '-' only."
  }
}

variable "description" {
  description = "What the key protects."
  type        = string
}

variable "service_principals" {
  description = "AWS service principals allowed to use the key on behalf of this account (e.g. logs.eu-west-1.amazonaws.com)."
  type        = list(string)
  default     = []
}

variable "user_arns" {
  description = "IAM principals (e.g. the Auto Scaling service-linked role for encrypted EBS volumes) allowed to use the key regardless of their IAM policies."
  type        = list(string)
  default     = []
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion takes effect."
  type        = number
  default     = 30
  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  description = "Tags applied to the key."
  type        = map(string)
  default     = {}
}
