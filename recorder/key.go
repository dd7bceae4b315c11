package recorder

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// KeyID names a public key: the first 16 bytes of its SHA-256, in hex.
// Checkpoints carry it so verify picks the right key after a rotation.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:16])
}

// LoadOrCreateKey reads the Ed25519 signing key at path (PEM, PKCS#8), or
// creates one there (mode 0600) when the file does not exist. created tells
// the caller to print the public key, which auditors need to verify.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("recorder: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("recorder: encode signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("recorder: create signing key: %w", err)
	}
	// O_EXCL: two replicas starting together must not overwrite each
	// other's key; the loser reads the winner's.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		key, err = LoadKey(path)
		return key, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("recorder: create signing key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("recorder: write signing key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("recorder: write signing key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("recorder: write signing key: %w", err)
	}
	return key, true, nil
}

// LoadKey reads an Ed25519 private key (PEM, PKCS#8).
func LoadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recorder: read signing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("recorder: %s: not a PEM \"PRIVATE KEY\"", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("recorder: %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("recorder: %s: a %T, not an Ed25519 key", path, k)
	}
	return ek, nil
}

// LoadPublicKeys reads the verification keys in a file: PEM "PUBLIC KEY"
// blocks (PKIX), or a "PRIVATE KEY" block whose public half is used.
func LoadPublicKeys(path string) ([]ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recorder: read public key: %w", err)
	}
	var out []ed25519.PublicKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		var k any
		switch blk.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("recorder: %s: %w", path, err)
		}
		switch x := k.(type) {
		case ed25519.PublicKey:
			out = append(out, x)
		case ed25519.PrivateKey:
			out = append(out, x.Public().(ed25519.PublicKey))
		default:
			return nil, fmt.Errorf("recorder: %s: a %T, not an Ed25519 key", path, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("recorder: %s: no Ed25519 key in it", path)
	}
	return out, nil
}

// PublicKeyPEM encodes pub for printing and for `audit verify --public-key`.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub) // cannot fail for Ed25519
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// Signing contexts: a checkpoint signature can never be replayed as a
// signed head or the other way round.
const (
	checkpointContext = "airlock-checkpoint-v1\n"
	headContext       = "airlock-head-v1\n"
)

// signedMessage is what a checkpoint or signed head signs:
// context + seq + "\n" + hash + "\n" + time (TimeFormat).
func signedMessage(context string, seq int64, hash string, t time.Time) []byte {
	m := make([]byte, 0, len(context)+100)
	m = append(m, context...)
	m = strconv.AppendInt(m, seq, 10)
	m = append(m, '\n')
	m = append(m, hash...)
	m = append(m, '\n')
	return append(m, t.UTC().Format(TimeFormat)...)
}
