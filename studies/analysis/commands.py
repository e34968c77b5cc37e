from studies.command import Command

COMMANDS: dict[str, Command] = {}
