"""``bpcheck claim`` (registered by bpcheck.cli.new until authoring moves here)."""


def register(commands: object) -> None:
    """Nothing yet: ``bpcheck.authoring.create.register`` adds both new and claim."""
