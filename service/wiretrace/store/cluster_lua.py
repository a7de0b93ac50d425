"""The Lua scripts of the cluster store (see ``cluster`` for the protocol they make).

``INDEX`` adds or removes band records on one primary, in whatever slots of its own
they fall (``allow-cross-slot-keys``); a record whose key is not served there (a slot
moved or moving) is skipped and returned, for the caller to send where it belongs.
An index shard is a string of 16-byte records (band key, big-endian; passage key,
little-endian). Adding is idempotent: a record already in its shard is not added
again, so a write may be repeated (a retry, a repair) without storing a record twice.
Removing takes out every copy of the record. The store's first write of a new
article's records does not come here: it goes as native ``APPEND``s, one a shard
(``ClusterStore._append``); this script is for removals, repairs and records an
``APPEND`` did not reach.

The others run on one article's *home* slot, with every key they touch declared, so
that a resharding answers them ``TRYAGAIN``/``ASK`` instead of letting them act on
half of a migrating slot.
"""

from __future__ import annotations

__all__ = ["ABORT", "CLAIM", "COMMIT", "FORGET", "INDEX", "RECORD", "UNLINK"]

#: 26-byte records: slot tag (6), shard (4, big-endian), band key (8), passage key (8).
RECORD = 26

# ARGV: 'add' or 'del', records. Returns the records it could not reach.
INDEX = """#!lua flags=allow-cross-slot-keys
local mode, blob = ARGV[1], ARGV[2]
local call, try, sub, search = redis.call, redis.pcall, string.sub, string.find
local failed = {}
-- Where the 16-byte record r is in the shard v at or after from (a match must start
-- on a record's boundary), or nil.
local function find(v, r, from)
  local j = search(v, r, from, true)
  while j and (j - 1) % 16 ~= 0 do j = search(v, r, j + 1, true) end
  return j
end
for i = 1, #blob, 26 do
  local k = 'wt:{' .. sub(blob, i, i + 5) .. '}b:' .. sub(blob, i + 6, i + 9)
  local r = sub(blob, i + 10, i + 25)
  local v = try('GET', k)
  if type(v) == 'table' then
    failed[#failed + 1] = sub(blob, i, i + 25)
  elseif mode == 'add' then
    if not v or not find(v, r, 1) then call('APPEND', k, r) end
  elseif v then
    local j = find(v, r, 1)
    if j then
      local kept, at = {}, 1
      while j do
        kept[#kept + 1] = sub(v, at, j - 1)
        at = j + 16
        j = find(v, r, at)
      end
      kept[#kept + 1] = sub(v, at)
      local rest = table.concat(kept)
      if #rest == 0 then call('DEL', k) else call('SET', k, rest) end
    end
  end
end
return table.concat(failed)
"""

# KEYS: id map, new article, pending set. ARGV: expected committed key ('' none),
# new key, now (ms), then the article's fields (see ClusterStore._claim).
# {'ok'}; {'busy', pending key, its claim time} while another write of the id is
# under way; {'changed'} when the committed key is not the expected one.
CLAIM = """
local nxt = redis.call('HGET', KEYS[1], 'next')
if nxt then return {'busy', nxt, redis.call('ZSCORE', KEYS[3], nxt) or '0'} end
if (redis.call('HGET', KEYS[1], 'key') or '') ~= ARGV[1] then return {'changed'} end
redis.call('HSET', KEYS[2], 'id', ARGV[4], 'sha', ARGV[5], 'outlet', ARGV[6],
  'url', ARGV[7], 'pub', ARGV[8], 'lang', ARGV[9], 'text', ARGV[10], 'units', ARGV[11],
  'sigs', ARGV[12], 'n', ARGV[13], 'score', ARGV[14], 'old', ARGV[1], 'state', 'p')
redis.call('HSET', KEYS[1], 'next', ARGV[2], 'nsha', ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
return {'ok'}
"""

# KEYS: id map, article, pending set, live set, passage counter, replaced article
# (the article itself again when it replaces none). ARGV: key, now (ms).
# 'ok' committed now; 'done' committed before; 'gone' the claim is not there.
COMMIT = """
local k = ARGV[1]
if redis.call('HGET', KEYS[1], 'key') == k then return 'done' end
if redis.call('HGET', KEYS[1], 'next') ~= k then return 'gone' end
redis.call('HSET', KEYS[1], 'key', k, 'sha', redis.call('HGET', KEYS[2], 'sha'))
redis.call('HDEL', KEYS[1], 'next', 'nsha')
redis.call('HSET', KEYS[2], 'state', 'c')
redis.call('ZREM', KEYS[3], k)
redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[2], 'score'), k)
redis.call('INCRBY', KEYS[5], redis.call('HGET', KEYS[2], 'n'))
local old = redis.call('HGET', KEYS[2], 'old')
if old and old ~= '' and redis.call('HGET', KEYS[6], 'state') == 'c' then
  redis.call('HSET', KEYS[6], 'state', 'd')
  redis.call('ZADD', KEYS[3], ARGV[2], old)
  redis.call('ZREM', KEYS[4], old)
  redis.call('DECRBY', KEYS[5], redis.call('HGET', KEYS[6], 'n'))
end
return 'ok'
"""

# KEYS: id map, article, pending set, live set, passage counter. ARGV: key, now (ms).
# 1 unlinked (invisible from now on; its records go next), 0 the id names another
# key or none, -1 a write of the id is under way.
UNLINK = """
if redis.call('HGET', KEYS[1], 'key') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'next') then return -1 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'state', 'd')
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DECRBY', KEYS[5], redis.call('HGET', KEYS[2], 'n'))
return 1
"""

# KEYS: article, pending set. ARGV: key. The last step of a removal: the article's
# hash goes (only when it was unlinked) and it leaves the pending set.
FORGET = """
if redis.call('HGET', KEYS[1], 'state') == 'd' then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: id map, article, pending set. ARGV: key. Gives up a claim before anything was
# indexed (a bulk import that met a stored id): 1 given up, 0 not this claim.
ABORT = """
if redis.call('HGET', KEYS[1], 'next') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'next', 'nsha')
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[2], 'state', 'd')
return 1
"""
