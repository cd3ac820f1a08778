"""redun.ini: interpolation, environment fallback, dict configs, dir discovery, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from redun.config import (
    DEFAULT_REDUN_INI,
    Config,
    ConfigError,
    find_config_dir,
    init_config_dir,
    resolve_db_uri,
)


def write_ini(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "redun.ini"
    path.write_text(text)
    return path


def test_interpolation_same_section_other_section_and_config_dir(tmp_path: Path) -> None:
    config_dir = tmp_path / ".redun"
    write_ini(
        config_dir,
        "[paths]\nroot = /data\nraw = ${root}/raw\nlogs = ${config_dir}/logs\n"
        "[executors.batch]\ntype = local\nscratch = ${paths:raw}/scratch\ncost = 100$$\n",
    )
    config = Config(config_dir=config_dir)
    assert config.get_section("paths") == {
        "root": "/data",
        "raw": "/data/raw",
        "logs": f"{config_dir}/logs",
    }
    assert config.executors()["batch"] == {
        "type": "local",
        "scratch": "/data/raw/scratch",
        "cost": "100$",
    }


def test_environment_fallback_and_file_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDUN_TEST_BUCKET", "s3://bucket")
    monkeypatch.setenv("root", "from-env")
    config = Config.from_string(
        "[aws]\nroot = from-file\nscratch = ${REDUN_TEST_BUCKET}/scratch\nwhere = ${root}\n"
    )
    assert config.get_section("aws")["scratch"] == "s3://bucket/scratch"
    assert config.get_section("aws")["where"] == "from-file"


def test_unknown_variable_names_section_option_and_variable(tmp_path: Path) -> None:
    path = write_ini(tmp_path / ".redun", "[aws]\nscratch = ${NO_SUCH_REDUN_VAR}/x\n")
    config = Config(config_dir=tmp_path / ".redun")
    with pytest.raises(ConfigError) as error:
        config.get_section("aws")
    message = str(error.value)
    assert str(path) in message and "[aws] scratch" in message
    assert "${NO_SUCH_REDUN_VAR}" in message and "\n" not in message


def test_self_reference_is_an_error_not_a_recursion_crash() -> None:
    config = Config.from_string("[a]\nx = ${y}\ny = ${x}\n")
    with pytest.raises(ConfigError, match="nest too deeply"):
        config.get_section("a")


def test_option_case_is_kept() -> None:
    assert Config.from_string("[limits]\nGPU = 2\n").limits() == {"GPU": 2}


def test_dict_config_nested_executors_become_sections() -> None:
    config = Config(
        {
            "backend": {"db_uri": "sqlite:///x.db"},
            "limits": {"gpu": "1", "db": 3},
            "executors": {"proc": {"type": "local", "mode": "process", "max_workers": 4}},
        }
    )
    assert sorted(config.sections()) == ["backend", "executors.proc", "limits"]
    assert config.executors() == {"proc": {"type": "local", "mode": "process", "max_workers": "4"}}
    assert config.limits() == {"gpu": 1, "db": 3}
    # No config dir: a relative SQLite path stays relative (to the working directory).
    assert config.db_uri == "sqlite:///x.db"
    assert config["executors.proc"]["mode"] == "process"
    assert config.get("missing", {}) == {}
    assert "limits" in config and "missing" not in config
    assert config.as_dict()["executors.proc"]["type"] == "local"


def test_dict_config_rejects_bad_shapes() -> None:
    with pytest.raises(ConfigError, match="'backend' must be a dict"):
        Config({"backend": "sqlite:///x.db"})
    with pytest.raises(ConfigError, match="mixes options and sub-sections"):
        Config({"executors": {"type": "local", "proc": {"type": "local"}}})


def test_bad_limit_value_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"\[limits\] gpu = 'two' is not a whole number"):
        Config({"limits": {"gpu": "two"}}).limits()


def test_default_db_uri_is_relative_to_config_dir(tmp_path: Path) -> None:
    config = Config(config_dir=tmp_path / ".redun")  # no redun.ini at all
    assert config.db_uri == f"sqlite:///{tmp_path}/.redun/redun.db"
    assert config.as_dict()["backend"] == {"db_uri": config.db_uri}
    assert config.executors() == {}


def test_relative_sqlite_paths_resolve_against_config_dir(tmp_path: Path) -> None:
    config_dir = tmp_path / ".redun"
    write_ini(config_dir, "[backend]\ndb_uri = sqlite:///data/my.db\n")
    assert Config(config_dir=config_dir).db_uri == f"sqlite:///{config_dir}/data/my.db"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///redun.db", "sqlite:////cfg/redun.db"),
        ("sqlite+pysqlite:///r.db?timeout=5", "sqlite+pysqlite:////cfg/r.db?timeout=5"),
        ("sqlite:////abs/redun.db", "sqlite:////abs/redun.db"),
        ("sqlite://", "sqlite://"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
    ],
)
def test_resolve_db_uri(uri: str, expected: str) -> None:
    assert resolve_db_uri(uri, Path("/cfg")) == expected


def test_config_dir_option_then_env_then_ancestor_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDUN_CONFIG", raising=False)
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config_dir(cwd=deep) == deep / ".redun"
    (project / ".redun").mkdir()
    assert find_config_dir(cwd=deep) == project / ".redun"
    monkeypatch.setenv("REDUN_CONFIG", str(tmp_path / "env-config"))
    assert find_config_dir(cwd=deep) == tmp_path / "env-config"
    assert find_config_dir(str(tmp_path / "explicit"), cwd=deep) == tmp_path / "explicit"


def test_config_is_read_lazily(tmp_path: Path) -> None:
    config_dir = tmp_path / ".redun"
    config = Config(config_dir=config_dir)
    write_ini(config_dir, "[limits]\ngpu = 4\n")  # written after construction
    assert config.limits() == {"gpu": 4}
    assert config.path == config_dir / "redun.ini"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("db_uri = sqlite:///x.db\n", 1, "before any [section] header"),
        ("[backend]\ndb_uri = sqlite:///x.db\nthis line is wrong\n", 3, "cannot parse"),
        ("[backend]\na = 1\n[limits]\n[backend]\nb = 2\n", 4, "section [backend] appears twice"),
        ("[limits]\ngpu = 1\ngpu = 2\n", 3, "option 'gpu' appears twice in [limits]"),
    ],
)
def test_malformed_ini_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = write_ini(tmp_path / ".redun", text)
    with pytest.raises(ConfigError) as error:
        Config(config_dir=tmp_path / ".redun").sections()
    message = str(error.value)
    assert message.startswith(f"{path}, line {line}: ")
    assert words in message and "\n" not in message


def test_init_config_dir_creates_once(tmp_path: Path) -> None:
    config_dir = tmp_path / "x" / ".redun"
    assert init_config_dir(config_dir) == [config_dir, config_dir / "redun.ini"]
    assert (config_dir / "redun.ini").read_text() == DEFAULT_REDUN_INI
    assert init_config_dir(config_dir) == []
    config = Config(config_dir=config_dir)
    assert config.executors() == {"default": {"type": "local", "max_workers": "20"}}
    assert config.db_uri == f"sqlite:///{config_dir}/redun.db"
