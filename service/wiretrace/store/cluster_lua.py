"""The Lua scripts of the cluster store (see ``cluster`` for the protocol they make).

``INDEX`` adds or removes band records on one primary, in whatever slots of its own
they fall (``allow-cross-slot-keys``); a record whose key is not served there (a slot
moved or moving) is skipped and returned, for the caller to send where it belongs.
Adding is idempotent: a passage key already under its band key is not added again,
so a write may be repeated (a retry, a repair) without counting a passage twice.
The store sends it only the records a native ``HSETNX`` could not add: those whose
band key holds other passages already (appending to a field is a read-modify-write).

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
-- Where the 8-byte passage key id starts in the concatenation v (a searched match
-- must start on a key's boundary), or nil.
local function find(v, id)
  local j = search(v, id, 1, true)
  while j and (j - 1) % 8 ~= 0 do j = search(v, id, j + 1, true) end
  return j
end
for i = 1, #blob, 26 do
  local k = 'wt:{' .. sub(blob, i, i + 5) .. '}b:' .. sub(blob, i + 6, i + 9)
  local f, id = sub(blob, i + 10, i + 17), sub(blob, i + 18, i + 25)
  local v = try('HGET', k, f)
  if type(v) == 'table' then
    failed[#failed + 1] = sub(blob, i, i + 25)
  elseif mode == 'add' then
    if not v then
      call('HSET', k, f, id)
    elseif not find(v, id) then
      call('HSET', k, f, v .. id)
    end
  elseif v then
    local j = find(v, id)
    if j then
      local kept = sub(v, 1, j - 1) .. sub(v, j + 8)
      if #kept == 0 then call('HDEL', k, f) else call('HSET', k, f, kept) end
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
