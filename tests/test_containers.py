"""The Dockerfiles in containers/, checked statically (no Docker engine here): pinned base images
and installs, an unprivileged user, and the image tags the workflow uses.

The rules are hadolint's spirit (DL3006/DL3007 untagged or `latest` base, DL3008/DL3013 unpinned
apt/pip installs, DL3002 last user root) on Dockerfiles parsed by dockerfile-parse. Each rule is
also run on a Dockerfile that breaks it, so a check that stopped seeing its problem fails.
"""

import io
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from dockerfile_parse import DockerfileParser

REPOSITORY = Path(__file__).resolve().parents[1]
CONTAINERS = REPOSITORY / "containers"
DOCKERFILES = sorted(CONTAINERS.glob("*/Dockerfile"))

# A version pin of one package: apt and conda `name=version`, pip `name==version`.
_APT_PIN = re.compile(r"^[a-z0-9][a-z0-9.+-]*=[0-9][\w.+:~-]*$")
_CONDA_PIN = re.compile(r"^[a-z0-9][\w.-]*=[0-9][\w.]*$")
_PIP_PIN = re.compile(r"^[A-Za-z0-9][\w.-]*(\[[\w,-]+\])?==[0-9][\w.]*$")
# The installers whose package arguments the rules can read, and how each spells a pin.
_INSTALLERS = {("apt-get", "install"): _APT_PIN, ("pip", "install"): _PIP_PIN,
               ("micromamba", "install"): _CONDA_PIN}
# Options of those installers that take a value (the value is no package).
_OPTIONS_WITH_VALUE = {"--name", "-n", "--channel", "-c", "--index-url", "--extra-index-url", "-r", "--requirement"}


def _image_of(rule_variable: str) -> str:
    """An image named in workflow/rules/common.smk, without docker://."""
    text = (REPOSITORY / "workflow" / "rules" / "common.smk").read_text()
    return re.search(rf'^{rule_variable} = "docker://(.*)"$', text, flags=re.MULTILINE).group(1)


def _commands(run: str) -> list[list[str]]:
    """The simple commands of a RUN line, as argument lists."""
    return [shlex.split(part) for part in re.split(r"&&|\|\||;|\|", run) if part.strip()]


def _pinned_pyproject(requirement: str) -> list[str]:
    """Problems of a local project installed by pip (`.` or `.[extras]`): any of its requirements,
    and of the extras named, that pyproject.toml does not pin with ==."""
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]
    extras = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", requirement).group(1)
    requirements = list(project["dependencies"])
    for extra in extras.split(",") if extras else ():
        requirements += project["optional-dependencies"][extra]
    return [f"pip installs {requirement} with unpinned {item!r}" for item in requirements
            if not _PIP_PIN.match(item) and not item.startswith("goldmine[")]


def dockerfile_problems(text: str) -> list[str]:
    """What breaks the rules in a Dockerfile's text: unpinned base images and installs, and a last
    user that is root (or none)."""
    # A parser given a file object reads it (given content, it would write ./Dockerfile).
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    problems = []
    users = []
    for instruction in parser.structure:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "FROM":
            image = value.split()[0]
            reference = image.partition("@")[0]
            tag = reference.rpartition(":")[2] if ":" in reference.rpartition("/")[2] else ""
            if "@sha256:" not in image and (not tag or tag == "latest" or not re.search(r"\d", tag)):
                problems.append(f"base image {image!r} is not pinned to a version")
        elif kind == "USER":
            users.append(value.split(":")[0])
        elif kind == "RUN":
            for command in _commands(value):
                for (program, verb), pin in _INSTALLERS.items():
                    if command[:2] != [program, verb]:
                        continue
                    arguments = iter(command[2:])
                    for argument in arguments:
                        if argument in _OPTIONS_WITH_VALUE:
                            next(arguments, None)
                        elif argument.startswith("-"):
                            continue
                        elif program == "pip" and argument.strip("\"'").startswith("."):
                            problems += _pinned_pyproject(argument.strip("\"'"))
                        elif not pin.match(argument):
                            problems.append(f"{program} installs {argument!r} without a version")
    if not users or users[-1] in ("root", "0"):
        problems.append(f"the image runs as root (USER instructions: {users})")
    return problems


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_pins_everything_and_runs_unprivileged(dockerfile):
    assert dockerfile_problems(dockerfile.read_text()) == []


def test_both_images_exist_with_a_readme():
    assert {path.parent.name for path in DOCKERFILES} == {"goldmine", "generator"}
    for path in DOCKERFILES:
        readme = (path.parent / "README.md").read_text()
        assert "docker build" in readme and "docker push" in readme, path.parent


def test_the_rules_see_each_problem():
    bad = """FROM python
FROM python:latest
FROM ubuntu:jammy
RUN apt-get update && apt-get install -y --no-install-recommends curl git=1:2.39.5-0+deb12u2
RUN pip install --no-cache-dir numpy scipy==1.17.1 && micromamba install -c conda-forge root=6.30.4 lhapdf
USER nobody
USER root
"""
    assert dockerfile_problems(bad) == [
        "base image 'python' is not pinned to a version",
        "base image 'python:latest' is not pinned to a version",
        "base image 'ubuntu:jammy' is not pinned to a version",
        "apt-get installs 'curl' without a version",
        "pip installs 'numpy' without a version",
        "micromamba installs 'lhapdf' without a version",
        "the image runs as root (USER instructions: ['nobody', 'root'])",
    ]
    good = "FROM python:3.11.7-slim-bookworm@sha256:" + "0" * 64 + "\nRUN pip install '.[kubernetes]'\nUSER goldmine\n"
    assert dockerfile_problems(good) == []


def test_image_tags_are_the_ones_the_workflow_uses():
    goldmine = _image_of("GOLDMINE_IMAGE")
    generator = _image_of("GENERATOR_IMAGE")
    # The goldmine image is goldmine at its version; the generator image MG5_aMC at the version it builds.
    version = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"]
    assert goldmine.rpartition(":")[2] == version
    generator_dockerfile = (CONTAINERS / "generator" / "Dockerfile").read_bytes()
    arguments = DockerfileParser(fileobj=io.BytesIO(generator_dockerfile)).args
    assert generator.rpartition(":")[2] == arguments["MG5_VERSION"]
    # Kubernetes jobs run in the goldmine image (the profile cannot read common.smk).
    profile = yaml.safe_load((REPOSITORY / "profiles" / "kubernetes" / "config.yaml").read_text())
    assert profile["container-image"] == goldmine
    # The build commands in the READMEs tag the images as the workflow names them.
    for name, image in (("goldmine", goldmine), ("generator", generator)):
        readme = (CONTAINERS / name / "README.md").read_text()
        assert re.findall(r"ghcr\.io/[\w./-]+:[\w.-]+", readme) and set(
            re.findall(r"ghcr\.io/[\w./-]+:[\w.-]+", readme)) == {image}, name
