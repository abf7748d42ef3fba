"""The reporting protocol (shared/protocol-v1.md) on PyNaCl: no Flask, no database."""
