"""Core, database, plugin and theme updates with WordPress's own PHP (no wp-cli needed)."""

from __future__ import annotations

import shlex
from typing import Any

from runbook_engine.cms.php import run_php
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext

# What a core update must never overwrite: the site's content and its configuration.
CORE_KEEP = ("wp-content", "wp-config.php", ".maintenance", ".htaccess")

# wp_upgrade() with WP_INSTALLING: no plugin is loaded (a broken one cannot stop the
# upgrade) and the `.maintenance` file does not block php-cli.
UPGRADE_DB_PHP = r"""
define('WP_INSTALLING', true);
$_SERVER['HTTP_HOST'] = getenv('RB_HTTP_HOST') ?: 'localhost';
$_SERVER['REQUEST_URI'] = '/';
require getcwd() . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
global $wpdb, $wp_db_version;
$read = function () use ($wpdb) {
    return (int) $wpdb->get_var(
        "SELECT option_value FROM {$wpdb->options} WHERE option_name = 'db_version'");
};
$before = $read();
if (getenv('RB_CHECK') !== '1' && $before !== (int) $wp_db_version) {
    wp_upgrade();
}
rb_out(array('before' => $before, 'after' => $read(), 'files' => (int) $wp_db_version));
"""


def copy_core(ctx: TaskContext, release_root: str, site: str) -> None:
    """Copy the release over the site, leaving wp-content and wp-config.php alone."""
    keep = " ".join(shlex.quote(name) for name in CORE_KEEP)
    script = f"""set -e
cd {shlex.quote(release_root)}
for entry in * .[!.]*; do
  [ -e "$entry" ] || continue
  for kept in {keep}; do [ "$entry" = "$kept" ] && continue 2; done
  cp -R -p -- "$entry" {shlex.quote(site)}/
done"""
    done = ctx.run(script)
    if done.rc != 0:
        detail = done.stderr.strip()[-600:]
        raise ModuleFailure(f"copying the new core into {site} failed: {detail}")


# WordPress's own list of files a release retires, read from the NEW release's
# update-core.php (which only defines arrays and functions at load), removed as its
# update_core() does: after the copy, never inside wp-content.
OLD_FILES_PHP = r"""
$release = getenv('RB_RELEASE');
$script = $release . '/wp-admin/includes/update-core.php';
if (!is_file($script)) { rb_out(array('removed' => array())); exit(0); }
(function () use ($script) { require $script; })();
$old = array_merge((array) ($GLOBALS['_old_files'] ?? array()),
                   array_values((array) ($GLOBALS['_old_requests_files'] ?? array())));
function rb_delete($path) {
    if (is_dir($path) && !is_link($path)) {
        foreach (array_diff((array) scandir($path), array('.', '..')) as $entry) {
            rb_delete("$path/$entry");
        }
        return @rmdir($path);
    }
    return @unlink($path);
}
$site = getcwd();
$removed = array();
foreach ($old as $relative) {
    $relative = trim((string) $relative, '/');
    if ($relative === '' || preg_match('#(^|/)\.\.(/|$)#', $relative)
        || strpos($relative, 'wp-content') === 0) {
        continue;
    }
    $path = $site . '/' . $relative;
    if ((file_exists($path) || is_link($path)) && rb_delete($path)) { $removed[] = $relative; }
}
rb_out(array('removed' => $removed));
"""


def remove_old_files(ctx: TaskContext, release_root: str, site: str, php: str = "php") -> list[str]:
    """Delete the files WordPress lists as retired by the release at `release_root`."""
    answer = run_php(ctx, OLD_FILES_PHP, chdir=site, env={"RB_RELEASE": release_root}, php=php,
                     what="removing retired core files")  # fmt: skip
    return [str(path) for path in answer.get("removed", [])]


def upgrade_database(
    ctx: TaskContext, site: str, *, check: bool, http_host: str | None, php: str = "php"
) -> dict[str, Any]:
    """{'before', 'after', 'files'} db_version numbers; runs wp_upgrade() unless `check`."""
    env = {"RB_CHECK": "1" if check else "0", "RB_HTTP_HOST": http_host or "localhost"}
    return run_php(ctx, UPGRADE_DB_PHP, chdir=site, env=env, php=php, what="wp_upgrade()")


def replace_component(ctx: TaskContext, new_dir: str, parent: str, slug: str) -> None:
    """Swap `parent/slug` for `new_dir`; the old copy comes back if the copy fails. The old
    one waits in a dot-directory, which WordPress never loads."""
    dest = f"{parent}/{slug}"
    old = f"{parent}/.{slug}.rb-previous"
    script = f"""set -e
new={shlex.quote(new_dir)}; dest={shlex.quote(dest)}; old={shlex.quote(old)}
rm -rf -- "$old"
if [ -e "$dest" ]; then mv -- "$dest" "$old"; fi
if cp -R -p -- "$new" "$dest"; then
  rm -rf -- "$old"
else
  rm -rf -- "$dest"; if [ -e "$old" ]; then mv -- "$old" "$dest"; fi
  exit 1
fi"""
    done = ctx.run(script)
    if done.rc != 0:
        raise ModuleFailure(f"replacing {dest} failed: {done.stderr.strip()[-600:]}")
