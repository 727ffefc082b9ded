"""Platform adapters: each turns a platform into core events and renders core messages."""
