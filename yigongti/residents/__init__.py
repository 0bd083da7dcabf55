"""residents — one health record per person (居民健康档案): households, the MPI, merge, transfer."""
