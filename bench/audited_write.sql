BEGIN;
SELECT id, email, name, role, active FROM users WHERE email = 'writer@example.com';
INSERT INTO api_tokens (user_id, name, prefix, secret_hash, scopes, created_at) SELECT id, 'bench', 'gdk_xxxxxx', decode(md5(random()::text) || md5(random()::text), 'hex'), ('["cases' || chr(58) || 'read"]')::jsonb, now() FROM users WHERE email = 'writer@example.com';
INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id, after_state) VALUES (now(), 'cli', 'cli', 'token.created', 'api_token', '1', '{"name":"bench","scopes":[]}');
COMMIT;
