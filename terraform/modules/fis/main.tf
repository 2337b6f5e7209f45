# AZ power interruption drill (the "AZ Availability: Power Interruption" scenario reduced
# to what this architecture runs): every EKS node of one zone is stopped and the RDS
# Multi-AZ instance fails over to its standby, at the same time. The SLO fast-burn alarm
# stops the experiment (and restarts the instances) as soon as users are hurt more than
# the error budget allows.

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["fis.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fis" {
  name               = "${var.name}-fis"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "fis" {
  statement {
    sid       = "StopAndStartClusterNodes"
    actions   = ["ec2:StopInstances", "ec2:StartInstances"]
    resources = ["arn:${data.aws_partition.current.partition}:ec2:*:*:instance/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/eks:cluster-name"
      values   = [var.cluster_name]
    }
  }
  statement {
    sid       = "DescribeInstances"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"] #checkov:skip=CKV_AWS_356:ec2:DescribeInstances does not support resource-level permissions
  }
  statement {
    # Restarting instances whose EBS volumes use a customer-managed key.
    sid       = "UseNodeVolumeKey"
    actions   = ["kms:CreateGrant"]
    resources = [var.ebs_kms_key_arn]
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
  statement {
    sid       = "FailoverDatabase"
    actions   = ["rds:RebootDBInstance", "rds:DescribeDBInstances"]
    resources = [var.db_instance_arn]
  }
  statement {
    sid = "ExperimentLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"] #checkov:skip=CKV_AWS_356:CloudWatch Logs delivery actions do not support resource-level permissions
  }
}

resource "aws_iam_role_policy" "fis" {
  name   = "az-power-interruption"
  role   = aws_iam_role.fis.id
  policy = data.aws_iam_policy_document.fis.json
}

resource "aws_fis_experiment_template" "az_power_interruption" {
  description = "AZ power interruption in ${var.availability_zone}: stop the zone's EKS nodes and fail RDS over"
  role_arn    = aws_iam_role.fis.arn

  stop_condition {
    source = "aws:cloudwatch:alarm"
    value  = var.stop_alarm_arn
  }

  action {
    name        = "stop-zone-nodes"
    description = "Stop every EKS node in ${var.availability_zone}; restart them after the drill"
    action_id   = "aws:ec2:stop-instances"
    target {
      key   = "Instances"
      value = "zone-nodes"
    }
    parameter {
      key   = "startInstancesAfterDuration"
      value = var.duration
    }
  }

  action {
    name        = "failover-database"
    description = "Reboot the Multi-AZ primary with a forced failover to the standby"
    action_id   = "aws:rds:reboot-db-instances"
    target {
      key   = "DBInstances"
      value = "database"
    }
    parameter {
      key   = "forceFailover"
      value = "true"
    }
  }

  target {
    name           = "zone-nodes"
    resource_type  = "aws:ec2:instance"
    selection_mode = "ALL"
    resource_tag {
      key   = "eks:cluster-name"
      value = var.cluster_name
    }
    filter {
      path   = "Placement.AvailabilityZone"
      values = [var.availability_zone]
    }
    filter {
      path   = "State.Name"
      values = ["running"]
    }
  }

  target {
    name           = "database"
    resource_type  = "aws:rds:db"
    selection_mode = "ALL"
    resource_arns  = [var.db_instance_arn]
  }

  log_configuration {
    log_schema_version = 2
    cloudwatch_logs_configuration {
      log_group_arn = "${var.log_group_arn}:*"
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-az-power-interruption" })
}
