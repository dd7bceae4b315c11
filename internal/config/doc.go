// Package config owns airlock.yaml: its Go shape, the embedded defaults, the
// order in which they are overlaid (defaults, then the file, then AIRLOCK_*
// environment variables), validation with errors that name the file, line and
// key, and the resolution of secret references (env:NAME, file:PATH). Secrets
// are held as Secret values that never print their contents.
package config
