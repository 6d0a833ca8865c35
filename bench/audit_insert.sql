INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id) VALUES (now(), 'cli', 'cli', 'x', 'y', '1');
