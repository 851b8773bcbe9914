"""Service runtime shared by every LeakPro Range service."""
