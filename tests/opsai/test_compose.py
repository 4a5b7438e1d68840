"""docker-compose.yml is valid and uses the variables the settings read (Docker cannot run here)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"web", "worker", "beat"}
INIT_SCRIPT = "scripts/postgres-init-roles.sh"


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def variables_read_by_settings() -> set[str]:
    source = (ROOT / "opsai" / "settings.py").read_text()
    return set(re.findall(r"env\.\w+\(\s*\"([A-Z_]+)\"", source))


def test_it_has_the_services_with_healthchecks():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", *APP_SERVICES}
    for name, service in services.items():
        if name != "migrate":  # one-shot: it runs, exits 0 and the others start
            assert "healthcheck" in service, name
    assert services["migrate"]["restart"] == "no"


def test_app_services_wait_for_healthy_postgres_and_redis_and_the_migration():
    services = compose()["services"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_services_set_only_variables_the_settings_read():
    read = variables_read_by_settings()
    assert {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "EMAIL_URL",
    } <= read
    for name in {*APP_SERVICES, "migrate"}:
        environment = set(compose()["services"][name]["environment"])
        assert environment <= read, environment - read
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "OPSAI_ENV"} <= environment


def test_the_web_service_runs_gunicorn_on_the_wsgi_module():
    command = compose()["services"]["web"]["command"]
    assert "gunicorn opsai.wsgi" in command
    assert "migrate" not in command  # the owner's job, in the migrate service
    assert (ROOT / "Dockerfile").exists()


def _role(url: str) -> str:
    return urlsplit(url).username


def test_app_services_connect_as_the_app_role_and_migrate_as_the_owner():
    """Three roles: the superuser (init only), the owner (migrate) and the app (the rest)."""
    services = compose()["services"]
    postgres = services["postgres"]["environment"]
    owner, app = postgres["OPSAI_OWNER_ROLE"], postgres["OPSAI_APP_ROLE"]
    assert len({postgres["POSTGRES_USER"], owner, app}) == 3
    for name in APP_SERVICES:
        environment = services[name]["environment"]
        assert _role(environment["DATABASE_URL"]) == app, name
        assert "DATABASE_OWNER_URL" not in environment, name
    migrate = services["migrate"]
    assert _role(migrate["environment"]["DATABASE_URL"]) == app
    assert _role(migrate["environment"]["DATABASE_OWNER_URL"]) == owner
    command = " ".join(migrate["command"])
    assert command.index("manage.py migrate") < command.index("manage.py db_roles")


def test_postgres_creates_the_roles_with_the_init_script():
    postgres = compose()["services"]["postgres"]
    assert (
        f"./{INIT_SCRIPT}:/docker-entrypoint-initdb.d/10-opsai-roles.sh:ro" in postgres["volumes"]
    )
    script = (ROOT / INIT_SCRIPT).read_text()
    for variable in ("OPSAI_DATABASE", "OPSAI_OWNER_ROLE", "OPSAI_APP_ROLE"):
        assert f"${variable}" in script
        assert variable in postgres["environment"]
    # TCP, not the socket the image's temporary init server answers on.
    assert "-h 127.0.0.1" in " ".join(postgres["healthcheck"]["test"])


def test_the_image_copies_every_package_it_installs():
    """The Dockerfile installs the packages before copying the rest (a cached layer): a new
    app missing from its COPY lines would build an image that cannot start."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[([^\]]*)\]", pyproject).group(1)
    packages = {name.rstrip("*") for name in re.findall(r'"([^"]+)"', include)}
    copied = set(re.findall(r"^COPY (\w+) \./\1$", (ROOT / "Dockerfile").read_text(), re.M))
    assert packages == copied


def test_uploaded_files_live_on_a_named_volume_that_web_and_worker_share():
    """Evidence uploaded through web is read by the worker and must outlive a container:
    both mount the named `media` volume where MEDIA_ROOT points."""
    spec = compose()
    assert "media" in spec["volumes"]
    for name in ("web", "worker"):
        service = spec["services"][name]
        media_root = service["environment"]["MEDIA_ROOT"]
        assert f"media:{media_root}" in service["volumes"], name


def test_the_image_can_back_up_and_restore():
    """`manage.py backup`/`restore` call pg_dump/pg_restore, and the media volume starts
    out owned by the app's user only if the directory exists in the image."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "postgresql-client" in dockerfile
    assert "mkdir -p /app/var/media" in dockerfile
