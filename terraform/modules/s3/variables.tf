variable "name" {
  description = "Bucket name (global: include the account or a unique suffix)."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be a valid S3 bucket name (3-63 lowercase letters, digits, '.' or '-')."
  }
}

variable "noncurrent_expiration_days" {
  description = "Days after which noncurrent object versions expire."
  type        = number
  validation {
    condition     = var.noncurrent_expiration_days >= 1
    error_message = "noncurrent_expiration_days must be at least 1."
  }
}

variable "transition_ia_days" {
  description = "Days before objects move to STANDARD_IA (null = never)."
  type        = number
  default     = null
}

variable "transition_glacier_days" {
  description = "Days before objects move to GLACIER (null = never)."
  type        = number
  default     = null
}

variable "expiration_days" {
  description = "Days before current objects expire (null = never)."
  type        = number
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving the S3 server access logs."
  type        = string
}

variable "tags" {
  description = "Tags applied to the bucket."
  type        = map(string)
  default     = {}
}
