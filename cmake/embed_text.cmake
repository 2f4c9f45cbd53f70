# Writes a C++ file that holds files' text as string constants:
#   cmake -DOUT=file.cpp -DNAMESPACE=ns -DNAMES="kA;kB" -DFILES="a.c;b.h" -P embed_text.cmake
file(WRITE "${OUT}.tmp" "// Made by cmake/embed_text.cmake from the files named below. Do not edit.\nnamespace ${NAMESPACE} {\n")
list(LENGTH NAMES count)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  list(GET NAMES ${i} name)
  list(GET FILES ${i} path)
  file(READ "${path}" text)
  get_filename_component(base "${path}" NAME)
  file(APPEND "${OUT}.tmp" "// ${base}\nextern const char *const ${name};\nconst char *const ${name} = R\"nabla_text(${text})nabla_text\";\n")
endforeach()
file(APPEND "${OUT}.tmp" "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUT}.tmp" "${OUT}")
