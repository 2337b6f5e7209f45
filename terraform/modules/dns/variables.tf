variable "enabled" {
  description = "Create the ACM certificate and Route 53 records."
  type        = bool
  default     = false
}

variable "zone_name" {
  description = "Public Route 53 hosted zone, e.g. example.com."
  type        = string
  default     = ""
}

variable "domain_name" {
  description = "Name of the service, e.g. tasks.example.com."
  type        = string
  default     = ""
  validation {
    condition     = var.domain_name == "" || can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name."
  }
}

variable "alb_dns_name" {
  description = "DNS name of the ALB (empty until the first deploy; then the alias records are created)."
  type        = string
  default     = ""
}

variable "alb_zone_id" {
  description = "Canonical hosted zone ID of the ALB."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags applied to the certificate."
  type        = map(string)
  default     = {}
}
