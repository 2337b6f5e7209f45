variable "cluster_name" {
  description = "EKS cluster name, e.g. production-task-manager."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,62}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and contain letters, digits and '-' (max 63)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the node groups."
  type        = string
  default     = "1.35"
  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets (one per AZ) for the control plane ENIs and the nodes."
  type        = list(string)
  validation {
    condition     = length(var.private_subnet_ids) == 3
    error_message = "Exactly 3 private subnets (one per AZ) are expected."
  }
}

variable "availability_zones" {
  description = "Zones of private_subnet_ids, in the same order (one node group per zone)."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Exactly 3 availability zones (one per private subnet) are expected."
  }
}

variable "addon_versions" {
  description = "Pinned EKS add-on versions for kubernetes_version (aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>)."
  type        = map(string)
  validation {
    condition = alltrue([
      for name in ["vpc-cni", "coredns", "kube-proxy", "metrics-server", "aws-ebs-csi-driver"] :
      can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+-eksbuild\\.[0-9]+$", lookup(var.addon_versions, name, "")))
    ])
    error_message = "addon_versions needs an exact vX.Y.Z-eksbuild.N for vpc-cni, coredns, kube-proxy, metrics-server and aws-ebs-csi-driver."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API endpoint publicly (restricted to endpoint_public_access_cidrs). Needed only when CI runners sit outside the VPC."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when it is enabled."
  type        = list(string)
  default     = ["192.0.2.0/24"]
  validation {
    condition     = !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "The public API endpoint must not be open to 0.0.0.0/0."
  }
}

variable "secrets_kms_key_arn" {
  description = "KMS key that envelope-encrypts Kubernetes Secrets."
  type        = string
}

variable "ebs_kms_key_arn" {
  description = "KMS key for the nodes' EBS volumes."
  type        = string
}

variable "node_instance_type" {
  description = "Instance type of the managed node group."
  type        = string
  default     = "t3.medium"
}

variable "node_capacity_type" {
  description = "ON_DEMAND or SPOT."
  type        = string
  default     = "ON_DEMAND"
  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 2
  validation {
    condition     = var.node_min_size >= 1
    error_message = "node_min_size must be at least 1."
  }
}

variable "node_max_size" {
  description = "Maximum number of nodes (cluster autoscaler upper bound)."
  type        = number
  default     = 5
  validation {
    condition     = var.node_max_size >= 1 && var.node_max_size <= 100
    error_message = "node_max_size must be between 1 and 100."
  }
}

variable "node_desired_size" {
  description = "Initial number of nodes (then owned by the cluster autoscaler)."
  type        = number
  default     = 3
}

variable "node_disk_size" {
  description = "Root volume size of a node in GiB."
  type        = number
  default     = 30
  validation {
    condition     = var.node_disk_size >= 20
    error_message = "node_disk_size must be at least 20 GiB."
  }
}

variable "irsa_roles" {
  description = "Additional IRSA roles: key = role suffix, value = namespace, service account and IAM policy JSON."
  type = map(object({
    namespace       = string
    service_account = string
    policy_json     = string
  }))
  default = {}
}

variable "deployer_role_arns" {
  description = "IAM roles of the CI pipeline, mapped to deployer_kubernetes_group through EKS access entries."
  type        = list(string)
  default     = []
}

variable "deployer_kubernetes_group" {
  description = "Kubernetes group of the deploy roles; bound to the deployer Role in terraform/kubernetes/deployer-rbac.yaml."
  type        = string
  default     = "task-manager:deployers"
  validation {
    condition     = !startswith(var.deployer_kubernetes_group, "system:")
    error_message = "EKS access entries refuse groups starting with system:."
  }
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
