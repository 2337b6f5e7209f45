-- POST /api/v1/projects/{id}/tasks.
local token = os.getenv("BENCH_TOKEN")
local project = os.getenv("BENCH_PROJECT") or "1"
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/v1/projects/" .. project .. "/tasks",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" },
    '{"title":"bench task ' .. n .. '","priority":"high","due_at":"2027-01-01T09:00:00Z"}')
end
