# Sanitizer configurations (a test configuration: make asan).
set(_san)
if(EDGEOPT_SANITIZE_ADDRESS)
  list(APPEND _san address)
endif()
if(EDGEOPT_SANITIZE_UNDEFINED)
  # GCC's "undefined" leaves out float-to-int conversions out of range (clang's has them).
  list(APPEND _san undefined float-cast-overflow)
endif()
if(_san)
  string(REPLACE ";" "," _san "${_san}")
  # vptr checks need RTTI, which the runtime is built without.
  add_compile_options(-fsanitize=${_san} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_san})
  if(EDGEOPT_SANITIZE_UNDEFINED)
    add_compile_options(-fno-sanitize=vptr)
    add_link_options(-fno-sanitize=vptr)
  endif()
endif()
