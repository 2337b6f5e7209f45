-- GET /api/v1/tasks/{id} over random ids of the seeded tasks.
local max_id = tonumber(os.getenv("BENCH_TASKS") or "100000")
local token = os.getenv("BENCH_TOKEN")
math.randomseed(os.time())
request = function()
  local id = math.random(1, max_id)
  return wrk.format("GET", "/api/v1/tasks/" .. id, { ["Authorization"] = "Bearer " .. token })
end
