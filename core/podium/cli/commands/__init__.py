"""Built-in subcommands, one module per area; imported only when used."""
