"""Pure tensor functions shared by several roles: stateless seeds, box crops."""
