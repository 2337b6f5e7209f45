-- PATCH /api/v1/tasks/{id} (no If-Match) over random seeded tasks.
local max_id = tonumber(os.getenv("BENCH_TASKS") or "100000")
local token = os.getenv("BENCH_TOKEN")
math.randomseed(os.time() + 1)
local prios = { "low", "medium", "high", "urgent" }
request = function()
  local id = math.random(1, max_id)
  return wrk.format("PATCH", "/api/v1/tasks/" .. id,
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    '{"priority":"' .. prios[math.random(1, 4)] .. '"}')
end
