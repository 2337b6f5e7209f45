variable "repository_names" {
  description = "ECR repositories to create. The product ships one image (UI and API in one binary), so production has one."
  type        = list(string)
  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9][a-z0-9._/-]*$", n))])
    error_message = "repository_names must be non-empty lowercase ECR names."
  }
}

variable "keep_tagged_images" {
  description = "Number of tagged images kept per repository (older ones expire)."
  type        = number
  default     = 10
  validation {
    condition     = var.keep_tagged_images >= 1
    error_message = "keep_tagged_images must be at least 1."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images (build leftovers) expire."
  type        = number
  default     = 7
  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key for image encryption; null falls back to AES256."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags applied to every repository."
  type        = map(string)
  default     = {}
}
