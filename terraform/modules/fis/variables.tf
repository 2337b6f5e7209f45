variable "name" {
  description = "Name prefix, e.g. production-task-manager."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster whose nodes (tag eks:cluster-name) are stopped."
  type        = string
}

variable "availability_zone" {
  description = "Zone whose power is 'interrupted'."
  type        = string
  validation {
    condition     = can(regex("^[a-z]{2}-[a-z]+-[0-9][a-z]$", var.availability_zone))
    error_message = "availability_zone must look like eu-west-1a."
  }
}

variable "duration" {
  description = "How long the zone's nodes stay stopped (ISO 8601 duration)."
  type        = string
  default     = "PT10M"
  validation {
    condition     = can(regex("^PT[0-9]+[MH]$", var.duration))
    error_message = "duration must look like PT10M or PT1H."
  }
}

variable "db_instance_arn" {
  description = "RDS Multi-AZ instance failed over during the drill."
  type        = string
}

variable "ebs_kms_key_arn" {
  description = "KMS key of the nodes' EBS volumes (needed to start them again)."
  type        = string
}

variable "stop_alarm_arn" {
  description = "CloudWatch alarm that stops the experiment (the SLO fast-burn alarm)."
  type        = string
}

variable "log_group_arn" {
  description = "CloudWatch log group receiving the experiment log."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
