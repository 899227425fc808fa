# -Wall -Wextra everywhere; -Werror with EDGEOPT_FATAL_WARNINGS.
function(edgeopt_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(EDGEOPT_FATAL_WARNINGS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
