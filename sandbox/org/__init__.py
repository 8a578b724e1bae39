"""The organisation: users, the position tree, sharing groups and sharing modes."""
