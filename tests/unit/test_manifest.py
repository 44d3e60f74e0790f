"""manifest.yaml: valid YAML whose targets exist and whose variables the settings really read."""

import inspect
import re
from pathlib import Path

import yaml

from shared import config

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text())


def test_every_target_is_exported_by_main():
    """Each function's target is re-exported by main.py and set as its FUNCTION_TARGET."""
    exported = (ROOT / "main.py").read_text()
    for function in MANIFEST["functions"]:
        assert f"import {function['target']}" in exported or f", {function['target']}" in exported
        assert function["env"]["FUNCTION_TARGET"] == function["target"]


def test_manifest_names_exactly_the_variables_settings_read():
    """Every variable the manifest names is one Settings.from_env reads, and every one it reads is named."""
    source = inspect.getsource(config.Settings.from_env)
    read = set(re.findall(r'"((?:IBMCLOUD|DUALAUTH|KMS|DRY)_?[A-Z0-9_]*)"', source))
    for function in MANIFEST["functions"]:
        names = [*function.get("optional_env", {})]
        for group in ("env_from_secret", "env_from_config"):
            for store, keys in function.get(group, {}).items():
                section = MANIFEST["secrets" if group == "env_from_secret" else "config"][store]
                assert set(keys) <= set(section), (store, keys)
                names += keys
        assert set(names) == read, set(names) ^ read


def test_config_defaults_are_accepted_by_settings():
    """The manifest's config values, with an API key, build valid Settings."""
    env = {k: str(v) for k, v in MANIFEST["config"]["dualauth-config"].items()}
    assert config.Settings.from_env({**env, "IBMCLOUD_API_KEY": "k"}).iam_url == "https://iam.cloud.ibm.com"


def test_threads_match_the_platform_concurrency():
    """Each function's gunicorn THREADS equals the concurrency the platform sends it, so no request queues."""
    for function in MANIFEST["functions"]:
        assert int(function["env"]["THREADS"]) == function["scaling"]["concurrency"]
