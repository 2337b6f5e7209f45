variable "name" {
  description = "Name prefix, e.g. production-task-manager."
  type        = string
}

variable "log_groups" {
  description = "CloudWatch log groups to create: key = purpose, value = log group name."
  type        = map(string)
}

variable "retention_in_days" {
  description = "Retention of every log group (and of the S3 access logs)."
  type        = number
  default     = 365
  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_in_days)
    error_message = "retention_in_days must be a value CloudWatch Logs accepts (e.g. 30, 90, 365)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log groups (its policy must allow logs.<region>.amazonaws.com)."
  type        = string
}

variable "access_log_bucket_name" {
  description = "Name of the bucket receiving S3 server access logs."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix (app/<name>/<id>) of the ALB created by the AWS Load Balancer Controller; empty until the first deploy, which skips the SLO alarm."
  type        = string
  default     = ""
  validation {
    condition     = var.alb_arn_suffix == "" || can(regex("^app/[A-Za-z0-9-]+/[0-9a-f]+$", var.alb_arn_suffix))
    error_message = "alb_arn_suffix must look like app/<name>/<id>."
  }
}

variable "slo_error_ratio_threshold" {
  description = "Error ratio that trips the fast-burn alarm (14.4 x (1 - 0.999))."
  type        = number
  default     = 0.0144
  validation {
    condition     = var.slo_error_ratio_threshold > 0 && var.slo_error_ratio_threshold < 1
    error_message = "slo_error_ratio_threshold is a ratio between 0 and 1."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when the SLO alarm changes state (e.g. an SNS topic wired to the pager)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
