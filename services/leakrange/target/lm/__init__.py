"""The Target service for language models: host, access shaping, servicer and client."""
