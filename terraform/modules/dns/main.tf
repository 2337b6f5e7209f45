# Optional public DNS name and TLS certificate for the ALB. Everything has count 0 unless
# `enabled`; the alias record also waits for the ALB (created by the AWS Load Balancer
# Controller on the first Helm deploy).

data "aws_route53_zone" "this" {
  count        = var.enabled ? 1 : 0
  name         = var.zone_name
  private_zone = false
}

resource "aws_acm_certificate" "this" {
  count             = var.enabled ? 1 : 0
  domain_name       = var.domain_name
  validation_method = "DNS"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = var.enabled ? {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  } : {}
  zone_id         = data.aws_route53_zone.this[0].zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count                   = var.enabled ? 1 : 0
  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_route53_record" "alias" {
  #checkov:skip=CKV2_AWS_23:The alias target is the ALB created by the AWS Load Balancer Controller, outside Terraform
  count   = var.enabled && var.alb_dns_name != "" ? 1 : 0
  zone_id = data.aws_route53_zone.this[0].zone_id
  name    = var.domain_name
  type    = "A"
  alias {
    name                   = var.alb_dns_name
    zone_id                = var.alb_zone_id
    evaluate_target_health = true
  }
}
