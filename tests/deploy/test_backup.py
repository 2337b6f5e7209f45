"""The cross-region backup the disaster-recovery procedure relies on exists: an AWS
Backup plan whose rule copies every recovery point to a vault created with the second
region's provider, selecting the database and the assets bucket; and the application
secret has a replica in that region."""
import json

from test_terraform import ENV, parse_dir, resources, unwrap, variables


def test_daily_backups_are_copied_to_the_second_region():
    env = parse_dir(ENV)
    vaults = resources(env, "aws_backup_vault")
    assert unwrap(vaults["dr"]["provider"]) == "${aws.dr}"
    assert "provider" not in vaults["primary"]
    rule = unwrap(resources(env, "aws_backup_plan")["this"]["rule"])
    assert unwrap(rule["target_vault_name"]) == "${aws_backup_vault.primary.name}"
    copy = unwrap(rule["copy_action"])
    assert unwrap(copy["destination_vault_arn"]) == "${aws_backup_vault.dr.arn}"
    assert unwrap(unwrap(copy["lifecycle"])["delete_after"]) == "${var.backup_retention_days}"
    selected = json.dumps(resources(env, "aws_backup_selection")["this"]["resources"])
    assert "module.rds.instance_arn" in selected and "module.s3_assets.bucket_arn" in selected
    providers = [p for p in env["provider"] if "aws" in p]
    dr = [p["aws"] for p in providers if unwrap(p["aws"].get("alias")) == "dr"]
    assert dr and unwrap(dr[0]["region"]) == "${var.dr_region}"
    assert "var.dr_region != var.region" in json.dumps(variables(env)["dr_region"]["validation"])


def test_the_application_secret_is_replicated():
    env = parse_dir(ENV)
    secret = resources(env, "aws_secretsmanager_secret")["app"]
    assert unwrap(unwrap(secret["replica"])["region"]) == "${var.dr_region}"
    assert unwrap(secret["recovery_window_in_days"]) >= 7
