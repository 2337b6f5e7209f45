"""Connection budget: at the HPA's maximum, during a rollout (maxSurge extra replicas),
every replica's pool together must stay under what the RDS instance class accepts,
minus a reserve. The instance class comes from Terraform, the rest from the rendered
chart. The arithmetic is in docs/deployment.md, "Connection budget"."""
from conftest import load_docs
from test_terraform import effective, parse_dir, TF, ENV, MODULES

# Connections a PostgreSQL instance of the class accepts: RDS sets max_connections to
# LEAST(DBInstanceClassMemory / 9531392, 5000), and DBInstanceClassMemory is the class's
# memory minus what RDS keeps for the OS and its agents, so these planning figures sit
# below memory / 9531392 (112 per GiB). First deployment, step 4, checks the real value.
MAX_CONNECTIONS = {
    "db.t3.micro": 80, "db.t4g.micro": 80,
    "db.t3.small": 170, "db.t4g.small": 170,
    "db.t3.medium": 350, "db.t4g.medium": 350,
    "db.t3.large": 750, "db.t4g.large": 750,
    "db.m6g.large": 750, "db.m7g.large": 750,
}
# Inside max_connections but not for the application: superuser_reserved_connections (3)
# and rds.rds_superuser_reserved_connections (2), a migration run by hand with its own
# pool (5), postgres_exporter (2) and operators' psql sessions (3).
RESERVE = 3 + 2 + 5 + 2 + 3


def production():
    docs = load_docs("production")
    hpa = [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"][0]["spec"]
    dep = [d for d in docs if d["kind"] == "Deployment"][0]["spec"]
    cfg = [d for d in docs if d["kind"] == "ConfigMap" and "TM_DB_MAX_CONNECTIONS" in d["data"]][0]["data"]
    return hpa["maxReplicas"], int(dep["strategy"]["rollingUpdate"]["maxSurge"]), int(cfg["TM_DB_MAX_CONNECTIONS"])


def instance_class():
    env = parse_dir(ENV)
    mods = {m: parse_dir(TF / "modules" / m) for m in MODULES}
    return effective(env, mods, "rds", "instance_class")


def test_pools_fit_the_database_at_the_hpa_maximum():
    max_replicas, surge, pool = production()
    klass = instance_class()
    assert klass in MAX_CONNECTIONS, f"no connection figure for {klass}: add it (docs/deployment.md)"
    budget = MAX_CONNECTIONS[klass] - RESERVE
    used = (max_replicas + surge) * pool
    assert used <= budget, f"({max_replicas} + {surge}) x {pool} = {used} connections > {budget} for {klass}"


def test_the_documented_arithmetic_is_the_checked_one():
    from conftest import ROOT
    max_replicas, surge, pool = production()
    doc = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    used = (max_replicas + surge) * pool
    klass = instance_class()
    line = f"({max_replicas} + {surge}) × {pool} = {used}"
    assert line in doc, f"docs/deployment.md does not state {line!r}"
    assert f"{MAX_CONNECTIONS[klass]} − {RESERVE} = {MAX_CONNECTIONS[klass] - RESERVE}" in doc
