data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
}

# ---------------------------------------------------------------------------- cluster

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${var.cluster_name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

data "aws_iam_policy_document" "cluster_kms" {
  statement {
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    resources = [var.secrets_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "cluster_kms" {
  name   = "secrets-encryption"
  role   = aws_iam_role.cluster.id
  policy = data.aws_iam_policy_document.cluster_kms.json
}

resource "aws_eks_cluster" "this" {
  name                      = var.cluster_name
  version                   = var.kubernetes_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  vpc_config {
    subnet_ids              = var.private_subnet_ids
    endpoint_private_access = true
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.endpoint_public_access_cidrs
  }

  # Kubernetes Secrets are envelope-encrypted with a customer-managed KMS key.
  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = var.secrets_kms_key_arn
    }
  }

  access_config {
    authentication_mode                         = "API_AND_CONFIG_MAP"
    bootstrap_cluster_creator_admin_permissions = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy_attachment.cluster, aws_iam_role_policy.cluster_kms]
}

# ------------------------------------------------------------------------- node group

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${var.cluster_name}-node"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",
  ])
  role       = aws_iam_role.node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "node" {
  name_prefix            = "${var.cluster_name}-node-"
  update_default_version = true

  # IMDSv2 only, one hop: pods cannot reach the node's instance credentials (they use
  # IRSA instead).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.node_disk_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.ebs_kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-node" })
  }

  tags = var.tags
}

# One managed node group per zone. The chart's zone spread is hard (DoNotSchedule): a
# pending replica must make the autoscaler add a node in *its* zone, which only a group
# confined to that zone can do (a single group over three zones adds a node wherever the
# ASG balances it). The autoscaler runs with --balance-similar-node-groups. The
# environment's totals are split evenly: min/max/desired per zone = ceil(total / zones).
locals {
  zones = { for i, subnet in var.private_subnet_ids : var.availability_zones[i] => subnet }
  per_zone = {
    min     = ceil(var.node_min_size / length(var.private_subnet_ids))
    max     = ceil(var.node_max_size / length(var.private_subnet_ids))
    desired = ceil(var.node_desired_size / length(var.private_subnet_ids))
  }
}

resource "aws_eks_node_group" "zone" {
  for_each        = local.zones
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${var.cluster_name}-${each.key}"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = [each.value]
  instance_types  = [var.node_instance_type]
  capacity_type   = var.node_capacity_type

  scaling_config {
    min_size     = local.per_zone.min
    max_size     = local.per_zone.max
    desired_size = local.per_zone.desired
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  labels = {
    "node.task-manager.io/pool" = "default"
  }

  tags = var.tags

  lifecycle {
    # The cluster autoscaler owns the desired size once the group exists.
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [aws_iam_role_policy_attachment.node, aws_eks_addon.vpc_cni]
}

# ------------------------------------------------------------------------------ add-ons

# Versions are pinned (var.addon_versions), so a plan never upgrades an add-on by
# surprise; OVERWRITE on create takes over the self-managed vpc-cni, coredns and
# kube-proxy that EKS installs with the cluster instead of failing on their fields.
resource "aws_eks_addon" "vpc_cni" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  addon_version               = var.addon_versions["vpc-cni"]
  service_account_role_arn    = aws_iam_role.irsa["vpc-cni"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  # The network policy agent enforces the chart's NetworkPolicy.
  configuration_values = jsonencode({
    enableNetworkPolicy = "true"
  })
  tags = var.tags
}

resource "aws_eks_addon" "this" {
  for_each                    = toset(["coredns", "kube-proxy", "metrics-server"])
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.value
  addon_version               = var.addon_versions[each.value]
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags
  # coredns and metrics-server are Deployments: they need nodes to become ACTIVE.
  depends_on = [aws_eks_node_group.zone]
}

# EBS volumes for Prometheus/Alertmanager (kube-prometheus-stack); the gp3 StorageClass is
# terraform/kubernetes/storageclass-gp3.yaml.
resource "aws_eks_addon" "ebs_csi" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-ebs-csi-driver"
  addon_version               = var.addon_versions["aws-ebs-csi-driver"]
  service_account_role_arn    = aws_iam_role.irsa["ebs-csi-controller"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  tags                        = var.tags
  depends_on                  = [aws_eks_node_group.zone]
}

# ------------------------------------------------------------------- IRSA (OIDC + roles)

data "tls_certificate" "oidc" {
  url = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

resource "aws_iam_openid_connect_provider" "this" {
  url             = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = [data.tls_certificate.oidc.certificates[0].sha1_fingerprint]
  tags            = var.tags
}

locals {
  oidc_issuer = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")

  irsa_roles = merge(
    {
      cluster-autoscaler = {
        namespace       = "kube-system"
        service_account = "cluster-autoscaler"
        policy_json     = data.aws_iam_policy_document.cluster_autoscaler.json
      }
      aws-load-balancer-controller = {
        namespace       = "kube-system"
        service_account = "aws-load-balancer-controller"
        policy_json     = file("${path.module}/policies/aws-load-balancer-controller.json")
      }
      # The CNI's own role instead of AmazonEKS_CNI_Policy on every node.
      vpc-cni = {
        namespace       = "kube-system"
        service_account = "aws-node"
        policy_json     = data.aws_iam_policy.managed["AmazonEKS_CNI_Policy"].policy
      }
      ebs-csi-controller = {
        namespace       = "kube-system"
        service_account = "ebs-csi-controller-sa"
        policy_json     = data.aws_iam_policy_document.ebs_csi.json
      }
    },
    var.irsa_roles,
  )
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = local.irsa_roles
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each           = local.irsa_roles
  name               = "${var.cluster_name}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume[each.key].json
  tags               = var.tags
}

resource "aws_iam_policy" "irsa" {
  for_each = local.irsa_roles
  name     = "${var.cluster_name}-${each.key}"
  policy   = each.value.policy_json
  tags     = var.tags
}

resource "aws_iam_role_policy_attachment" "irsa" {
  for_each   = local.irsa_roles
  role       = aws_iam_role.irsa[each.key].name
  policy_arn = aws_iam_policy.irsa[each.key].arn
}

# Cluster autoscaler: may only change node groups tagged for this cluster.
data "aws_iam_policy_document" "cluster_autoscaler" {
  statement {
    sid = "Describe"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"] #checkov:skip=CKV_AWS_356:Describe/List actions do not support resource-level permissions
  }
  statement {
    sid = "ScaleOwnNodeGroups"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${local.partition}:autoscaling:*:${data.aws_caller_identity.current.account_id}:autoScalingGroup:*:autoScalingGroupName/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}"
      values   = ["owned"]
    }
  }
}

# --------------------------------------------------------------------- access entries

# CI deploy roles: an access entry that only names a Kubernetes group. The group's rights
# come from the Role in terraform/kubernetes/deployer-rbac.yaml (applied once by the
# cluster creator), which covers every kind the chart renders, monitoring.coreos.com
# included; AmazonEKSAdminPolicy has no rights on custom resources such as ServiceMonitor
# and PrometheusRule, so `helm upgrade --atomic` failed on them and rolled back.
resource "aws_eks_access_entry" "deployer" {
  for_each          = toset(var.deployer_role_arns)
  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = each.value
  type              = "STANDARD"
  kubernetes_groups = [var.deployer_kubernetes_group]
  tags              = var.tags
}

# ------------------------------------------------------------------ add-on IAM policies

data "aws_iam_policy" "managed" {
  for_each = toset(["AmazonEKS_CNI_Policy", "AmazonEBSCSIDriverPolicy"])
  arn      = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

# The managed EBS CSI policy, plus the node volume key so encrypted volumes can be created.
data "aws_iam_policy_document" "ebs_csi" {
  source_policy_documents = [data.aws_iam_policy.managed["AmazonEBSCSIDriverPolicy"].policy]
  statement {
    sid       = "UseVolumeKey"
    actions   = ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*"]
    resources = [var.ebs_kms_key_arn]
  }
}
