output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA bundle of the cluster."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "node_security_group_id" {
  description = "Security group of the nodes and pods (the EKS cluster security group, used by managed node groups)."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "IAM OIDC provider of the cluster (IRSA)."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "irsa_role_arns" {
  description = "IRSA role ARN per role key (cluster-autoscaler, aws-load-balancer-controller, and the extra roles)."
  value       = { for k, r in aws_iam_role.irsa : k => r.arn }
}

output "node_group_names" {
  description = "Managed node group per zone."
  value       = { for zone, g in aws_eks_node_group.zone : zone => g.node_group_name }
}

output "deployer_kubernetes_group" {
  description = "Kubernetes group the deploy roles are mapped to (subject of the deployer RoleBinding)."
  value       = var.deployer_kubernetes_group
}

output "cluster_arn" {
  description = "EKS cluster ARN (eks:DescribeCluster for the deploy role)."
  value       = aws_eks_cluster.this.arn
}
