"""CMS maintenance helpers behind the `wordpress` module.

- `php`: run a PHP script on the host (script on stdin, data in the environment).
- `site`: facts about a WordPress tree (versions, plugins, themes, maintenance, disk).
- `release`: fetch a release archive (URL, S3, controller or host path) and unpack it.
- `update`: core, database, plugin and theme updates without wp-cli.
- `wpcli`: the same through wp-cli when the host has it.
- `health`: HTTP status, served version, pages, PHP fatals in the error log.
- `snapshot`: local backup of the tree and rollback to it.
"""
