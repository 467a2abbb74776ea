/**
 * How every server message, table, chart and CSV names a model version, so a
 * user can search for one spelling: `v3 “demo-mlp”` (typographic quotes, which
 * neither JSON nor CSV escape).
 */
export function versionLabel(version: { number: number; name: string }): string {
  return `v${version.number} “${version.name}”`;
}
