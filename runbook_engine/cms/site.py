"""Facts about a WordPress tree, read in one PHP round trip WITHOUT loading WordPress: a
plugin that fatals on load must not hide the facts needed to repair the site."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runbook_engine.cms.php import run_php
from runbook_engine.errors import ModuleFailure
from runbook_engine.modules.base import TaskContext

# Header parsing follows WordPress's get_file_data(): the first 8 KiB, one header a line.
FUNCTIONS_PHP = r"""
function rb_header($file, $name) {
    $text = @file_get_contents($file, false, null, 0, 8192);
    if ($text === false) { return null; }
    $text = str_replace("\r", "\n", $text);
    if (preg_match('/^(?:[ \t]*<\?php)?[ \t\/*#@]*' . preg_quote($name, '/') . ':(.*)$/mi',
                   $text, $m)) {
        return trim(preg_replace('/\s*(?:\*\/|\?>).*/', '', $m[1]));
    }
    return null;
}
function rb_version_file($root) {
    $file = $root . '/wp-includes/version.php';
    if (!is_file($file)) { return null; }
    $read = function () use ($file) { include $file; return get_defined_vars(); };
    $v = $read();
    return array('version' => $v['wp_version'] ?? null, 'db_version' => $v['wp_db_version'] ?? null,
                 'required_php' => $v['required_php_version'] ?? null);
}
function rb_config_constants($file) {
    // Only literal define('NAME', 'value') of a few names; the password is never read.
    $wanted = array('DB_NAME', 'DB_HOST', 'DB_USER', 'DB_DIR', 'DB_FILE', 'WP_CONTENT_DIR');
    $found = array();
    if (!is_file($file)) { return $found; }
    $tokens = array_values(array_filter(token_get_all(file_get_contents($file)),
        function ($t) {
            return !is_array($t) || !in_array($t[0], array(T_WHITESPACE, T_COMMENT, T_DOC_COMMENT));
        }));
    for ($i = 0; $i + 5 < count($tokens); $i++) {
        $t = $tokens[$i];
        if (is_array($t) && strtolower($t[1]) === 'define' && $tokens[$i + 1] === '('
            && is_array($tokens[$i + 2]) && $tokens[$i + 2][0] === T_CONSTANT_ENCAPSED_STRING
            && $tokens[$i + 3] === ',' && is_array($tokens[$i + 4])
            && $tokens[$i + 4][0] === T_CONSTANT_ENCAPSED_STRING) {
            $name = substr($tokens[$i + 2][1], 1, -1);
            if (in_array($name, $wanted, true)) {
                $found[$name] = stripcslashes(substr($tokens[$i + 4][1], 1, -1));
            }
        }
    }
    return $found;
}
function rb_components($dir, $header, $pattern) {
    $found = array();
    foreach ((array) @scandir($dir) as $entry) {
        if ($entry === '' || $entry[0] === '.') { continue; }
        $files = is_dir("$dir/$entry") ? (array) glob("$dir/$entry/$pattern")
                                       : array("$dir/$entry");
        foreach ($files as $file) {
            if (!is_file($file)) { continue; }
            $name = rb_header($file, $header);
            if ($name === null || $name === '') { continue; }
            $found[$entry] = array('name' => $name, 'version' => rb_header($file, 'Version'),
                                   'file' => substr($file, strlen($dir) + 1));
            break;
        }
    }
    return (object) $found;
}
"""
FACTS_PHP = FUNCTIONS_PHP + r"""
$root = getcwd();
$config = rb_config_constants($root . '/wp-config.php');
$content = $config['WP_CONTENT_DIR'] ?? $root . '/wp-content';
$dropin = @file_get_contents($content . '/db.php', false, null, 0, 4096);
$sqlite = $dropin !== false && stripos($dropin, 'sqlite') !== false;
$db_file = null;
if ($sqlite) {
    $db_dir = rtrim($config['DB_DIR'] ?? $content . '/database', '/');
    $db_file = $db_dir . '/' . ($config['DB_FILE'] ?? '.ht.sqlite');
}
$core = rb_version_file($root);
rb_out(array(
    'path' => $root,
    'installed' => $core !== null && is_file($root . '/wp-config.php'),
    'version' => $core['version'] ?? null,
    'db_version_files' => $core['db_version'] ?? null,
    'required_php' => $core['required_php'] ?? null,
    'php_version' => PHP_VERSION,
    'maintenance' => file_exists($root . '/.maintenance'),
    'content_dir' => $content,
    'db_engine' => $sqlite ? 'sqlite' : 'mysql',
    'db_file' => $db_file,
    'db_name' => $sqlite ? null : ($config['DB_NAME'] ?? null),
    'db_host' => $sqlite ? null : ($config['DB_HOST'] ?? null),
    'plugins' => rb_components($content . '/plugins', 'Plugin Name', '*.php'),
    'themes' => rb_components($content . '/themes', 'Theme Name', 'style.css'),
    'disk_free_mb' => intdiv((int) @disk_free_space($root), 1048576),
));
"""

# The header of one unpacked plugin or theme: the archive's directory holds it.
COMPONENT_PHP = FUNCTIONS_PHP + r"""
$kind = getenv('RB_KIND');
$found = rb_components(getcwd(), $kind === 'theme' ? 'Theme Name' : 'Plugin Name',
                       $kind === 'theme' ? 'style.css' : '*.php');
$slug = getenv('RB_SLUG');
rb_out(array('component' => $found->$slug ?? null));
"""

# The version of an unpacked core release (no wp-config needed).
RELEASE_VERSION_PHP = r"""
$file = getcwd() . '/wp-includes/version.php';
$read = function () use ($file) { include $file; return get_defined_vars(); };
$v = $read();
rb_out(array('version' => $v['wp_version'] ?? null, 'db_version' => $v['wp_db_version'] ?? null,
             'required_php' => $v['required_php_version'] ?? null, 'php_version' => PHP_VERSION));
"""


@dataclass
class SiteFacts:
    """What `FACTS_PHP` reports, with the raw dict kept for the module's result."""

    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        return self.raw.get("version")

    @property
    def plugins(self) -> dict[str, dict[str, Any]]:
        return self.raw.get("plugins") or {}

    @property
    def themes(self) -> dict[str, dict[str, Any]]:
        return self.raw.get("themes") or {}

    @property
    def content_dir(self) -> str:
        return str(self.raw["content_dir"])

    def component(self, kind: str, slug: str) -> dict[str, Any] | None:
        return (self.plugins if kind == "plugin" else self.themes).get(slug)


def read_facts(ctx: TaskContext, path: str, php: str = "php") -> SiteFacts:
    probe = ctx.run(["test", "-d", path])
    if probe.rc != 0:
        raise ModuleFailure(f"{path} is not a directory on {ctx.host}")
    return SiteFacts(run_php(ctx, FACTS_PHP, chdir=path, php=php, what="reading site facts"))


def component_header(
    ctx: TaskContext, directory: str, kind: str, php: str = "php"
) -> dict[str, Any] | None:
    """Name and version of the plugin/theme unpacked at `directory` (its slug dir)."""
    parent, _, slug = directory.rstrip("/").rpartition("/")
    env = {"RB_KIND": kind, "RB_SLUG": slug}
    answer = run_php(ctx, COMPONENT_PHP, chdir=parent or "/", env=env, php=php,
                     what=f"reading the {kind} header")  # fmt: skip
    component = answer.get("component")
    return component if isinstance(component, dict) else None


def release_version(ctx: TaskContext, root: str, php: str = "php") -> dict[str, Any]:
    return run_php(ctx, RELEASE_VERSION_PHP, chdir=root, php=php, what="reading the release")
